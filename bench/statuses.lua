-- What every script of bench/ shares: its wrk threads numbered (`index` in each), and a
-- count of answers by HTTP status, printed at the end as "@status <code> <count>" lines
-- for bench/run.py. Loaded with dofile() by the script beside it.

statuses = {}
local threads = {}
local next_index = 0

function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
  table.insert(threads, thread)
end

function response(status, resp_headers, resp_body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("@status %d %d\n", status, count))
  end
end
