-- LiveKit's webhooks as it sends them: each request a new signed event, the next of a
-- pool file (one a line: the Authorization header, a tab, the JSON body), so that each
-- is handled rather than recognised as a redelivery.
-- Each wrk thread takes every n-th line of the pool (disjoint shares) and goes through
-- it once; run.py makes the pool larger than a run can send.
--
-- Arguments (after --): <events file> <path> <threads>

local path
local mine = {}
local sent = 0
statuses = {}

local threads = {}
local next_index = 0

function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
  table.insert(threads, thread)
end

function init(args)
  local events_file, nthreads = args[1], tonumber(args[3])
  path = args[2]
  local n = 0
  for line in io.lines(events_file) do
    if n % nthreads == index then
      local authorization, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(mine, { authorization, body })
    end
    n = n + 1
  end
end

local headers = { ["Content-Type"] = "application/webhook+json" }

function request()
  sent = sent + 1
  local event = mine[(sent - 1) % #mine + 1]
  headers["Authorization"] = event[1]
  return wrk.format("POST", path, headers, event[2])
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
