-- wrk script for bench/run: each request reads the next path of the file named after `--`
-- (one /v1/... path a line), round-robin, so the server serves the same reads kvenv makes.
local paths, i = {}, 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
