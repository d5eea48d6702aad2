-- One fixed request, read from a spec file, and a count of answers by HTTP status.
-- Spec: "METHOD PATH" on the first line, then "Name: value" header lines, a blank line,
-- and the body (the rest of the file, sent as is).
--
-- Arguments (after --): <spec file>

statuses = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local spec = io.open(args[1], "rb")
  local text = spec:read("*a")
  spec:close()
  local head, body = text:match("^(.-)\r?\n\r?\n(.*)$")
  if head == nil then
    head, body = text, ""
  end
  local first = true
  for line in head:gmatch("[^\r\n]+") do
    if first then
      wrk.method, wrk.path = line:match("^(%S+)%s+(%S+)")
      first = false
    else
      local name, value = line:match("^([^:]+):%s*(.*)$")
      wrk.headers[name] = value
    end
  end
  if body ~= "" then
    wrk.body = body
  end
end

function response(status, headers, body)
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
