-- LiveKit's webhooks as it sends them: each request a new signed event, the next of a
-- pool file (one a line: the Authorization header, a tab, the JSON body), so that each
-- is handled rather than recognised as a redelivery.
-- Each wrk thread takes every n-th line of the pool (disjoint shares) and goes through
-- it once; run.py makes the pool larger than a run can send.
--
-- Arguments (after --): <events file> <path> <threads>

-- setup(), response() and done(): the count of answers by status.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "statuses.lua")

local path
local mine = {}
local sent = 0

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
