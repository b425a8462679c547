-- wrk script of the plain primary-key read baseline (bench/ReadBaseline's GET /pk/{id}): a customer row picked at random
-- per request among the seeded ones. bench.sh exports PK_MIN and PK_MAX, the smallest and largest customer id.
local low = tonumber(os.getenv("PK_MIN"))
local high = tonumber(os.getenv("PK_MAX"))
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 100 + id)
end

function request()
  return wrk.format("GET", "/pk/" .. math.random(low, high))
end
