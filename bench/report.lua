-- wrk script: POST /api/v1/issues with a new report each time (another
-- position and description, so no report repeats one just filed), as a
-- resident's phone would send it. Used by bench/writes.sh.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local categories = {"pothole", "street_light", "litter", "graffiti", "trees"}

request = function()
  counter = counter + 1
  -- Spread over the city centre (lon 76.85..77.00, lat 43.20..43.30).
  local lon = 76.85 + (counter * 7919 % 15000) / 100000
  local lat = 43.20 + (counter * 104729 % 10000) / 100000
  local body = string.format(
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},' ..
    '"properties":{"category":"%s","description":"load report %d from thread %s"}}',
    lon, lat, categories[counter % #categories + 1], counter, tostring(id))
  return wrk.format("POST", "/api/v1/issues", {["Content-Type"] = "application/geo+json"}, body)
end
