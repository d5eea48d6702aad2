-- Anonymous guests polling the lobby: POST <path> with {"username": "Guest"}, each request
-- with the cookies of the next guest of a pool (lobbyParticipantId and its key), so no
-- identity exceeds the lobby rate limit.
-- Each wrk thread takes every n-th id of the pool (disjoint shares) and cycles through it.
-- bench/run.py has every guest knock once beforehand, so each poll renews a waiting entry
-- (the 3 s waiting lifetime) as long as the pool is cycled in under 3 s.
--
-- Arguments (after --): <guests file, one Cookie header a line> <path> <threads>

-- setup(), response() and done(): the count of answers by status.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "statuses.lua")

local path
local mine = {}
local sent = 0

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
