-- One fixed request, read from a spec file, and a count of answers by HTTP status.
-- Spec: "METHOD PATH" on the first line, then "Name: value" header lines, a blank line,
-- and the body (the rest of the file, sent as is).
--
-- Arguments (after --): <spec file>

-- setup(), response() and done(): the count of answers by status.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "statuses.lua")

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
