-- Anonymous guests polling the lobby: POST <path> with {"username": "Guest"}, each request
-- with the cookies of the next guest of a pool (lobbyParticipantId and its key), so no
-- identity exceeds the lobby rate limit.
-- Each wrk thread takes every n-th id of the pool (disjoint shares) and cycles through it.
-- bench/run.py has every guest knock once beforehand, so each poll renews a waiting entry
-- (the 3 s waiting lifetime) as long as the pool is cycled in under 3 s.
--
-- Arguments (after --): <guests file, one Cookie header a line> <path> <threads>

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
  local guests_file, nthreads = args[1], tonumber(args[3])
  path = args[2]
  local n = 0
  for line in io.lines(guests_file) do
    if n % nthreads == index then
      table.insert(mine, line)
    end
    n = n + 1
  end
end

local headers = { ["Content-Type"] = "application/json" }
local body = '{"username": "Guest"}'

function request()
  sent = sent + 1
  headers["Cookie"] = mine[(sent - 1) % #mine + 1]
  return wrk.format("POST", path, headers, body)
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
