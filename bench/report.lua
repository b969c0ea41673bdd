-- wrk script: POST /api/v1/issues with a new report each time (another
-- position and description, so no report repeats one just filed), as a
-- resident's phone would send it. Used by bench/writes.sh; bench/mixed.lua
-- builds on it.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

counter = 0
local categories = {"pothole", "street_light", "litter", "graffiti", "trees"}

-- A position over the city centre (lon 76.85..77.00, lat 43.20..43.30) for
-- the n-th request.
function position(n)
  return 76.85 + (n * 7919 % 15000) / 100000, 43.20 + (n * 104729 % 10000) / 100000
end

-- The n-th new report of this thread.
function new_report(n)
  local lon, lat = position(n)
  local body = string.format(
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},' ..
    '"properties":{"category":"%s","description":"load report %d from thread %s"}}',
    lon, lat, categories[n % #categories + 1], n, tostring(id))
  return wrk.format("POST", "/api/v1/issues", {["Content-Type"] = "application/geo+json"}, body)
end

request = function()
  counter = counter + 1
  return new_report(counter)
end
