-- wrk script: a mixed load, 9 reads for every write. Reads are nearby
-- searches around the city centre (as the map's "what is near me" does);
-- writes are new reports as in bench/report.lua. Used by bench/writes.sh.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local categories = {"pothole", "street_light", "litter", "graffiti", "trees"}

request = function()
  counter = counter + 1
  local lon = 76.85 + (counter * 7919 % 15000) / 100000
  local lat = 43.20 + (counter * 104729 % 10000) / 100000
  if counter % 10 == 0 then
    local body = string.format(
      '{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},' ..
      '"properties":{"category":"%s","description":"mixed load report %d from thread %s"}}',
      lon, lat, categories[counter % #categories + 1], counter, tostring(id))
    return wrk.format("POST", "/api/v1/issues", {["Content-Type"] = "application/geo+json"}, body)
  end
  return wrk.format("GET", string.format("/api/v1/issues/nearby?lon=%.6f&lat=%.6f&radius=500&limit=10", lon, lat))
end
