-- wrk script of the consent read: GET …/subscription-data of a seeded customer picked at random per request.
-- bench.sh exports what LoadGen --mode seed wrote: SEED_TOKEN (a read token of the first source system),
-- SEED_PREFIX (the path up to the customer number) and SEED_PER_SYSTEM (how many customers that system has).
local token = os.getenv("SEED_TOKEN")
local prefix = os.getenv("SEED_PREFIX")
local count = tonumber(os.getenv("SEED_PER_SYSTEM"))
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  -- each thread its own sequence of customers
  math.randomseed(os.time() * 100 + id)
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  return wrk.format("GET", prefix .. math.random(0, count - 1) .. "/subscription-data")
end
