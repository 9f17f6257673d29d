-- mpi_slurm.lua — `mto slurm` and mto.slurm.script: the job-array and MPI batch
-- scripts carry the right directives and commands, run as bash they start the
-- sweep script with the shard of the array task, and the CLI reports bad usage. TAP.
local S = require "mto.slurm"
local n, failed = 0, 0
local function ok(c, name) n = n + 1; if not c then failed = failed + 1 end; print((c and "ok " or "not ok ") .. n .. " - " .. name); return c end
local function has(text, s, name) if not ok(text:find(s, 1, true), name) then print("# missing: " .. s) end end
local mto_bin = (os.getenv("MTO_BUILDDIR") or ".") .. "/mto"
local tmp = os.tmpname()
os.remove(tmp)
require("mto")._mkdir(tmp)

local arr = S.script{sweep = "/data/exp/sweep.lua", tasks = 8, max_parallel = 2, cpus = 6, time = "1:00:00",
                     partition = "cpu", mem = "8G", args = {"--quick", "a b"}, workdir = "/data/exp"}
has(arr, "#SBATCH --array=0-7%2\n", "array: 8 tasks, 2 at a time")
has(arr, "#SBATCH --cpus-per-task=6\n", "array: cpus per task")
has(arr, "#SBATCH --partition=cpu\n", "array: partition")
ok(not arr:find("--account", 1, true), "array: no account line when none given")
has(arr, "#SBATCH --mem=8G\n", "array: memory")
has(arr, "#SBATCH --job-name=sweep\n", "array: job name from the file name")
has(arr, 'export MTO_SHARD="${SLURM_ARRAY_TASK_ID}/8"\n', "array: each task takes shard I/8")
has(arr, 'export OPENBLAS_NUM_THREADS="${SLURM_CPUS_PER_TASK:-6}"\n', "array: threads follow the CPUs")
has(arr, "exec mto run /data/exp/sweep.lua --quick 'a b'\n", "array: the command, arguments quoted")
has(arr, "#SBATCH --output=/data/exp/%x-%A_%a.out\n", "array: one log per task")

local mpi = S.script{sweep = "sweep.lua", mode = "mpi", tasks = 4, nodes = 2, workdir = "/w", setup = {"module load openmpi"}}
has(mpi, "#SBATCH --ntasks=4\n#SBATCH --nodes=2\n", "mpi: 4 ranks on 2 nodes")
ok(not mpi:find("--array", 1, true) and not mpi:find("MTO_SHARD", 1, true), "mpi: no array, no MTO_SHARD")
has(mpi, "module load openmpi\n", "mpi: setup line")
has(mpi, 'exec mpirun -np "${SLURM_NTASKS:-4}" --bind-to none mto run ', "mpi: mpirun over the job's tasks")
local srun = S.script{sweep = "/s.lua", mode = "mpi", launcher = "srun", tasks = 2}
has(srun, 'exec srun --cpus-per-task="${SLURM_CPUS_PER_TASK:-4}" mto run /s.lua\n', "mpi: srun launcher")
ok(not pcall(S.script, {sweep = "/s.lua", tasks = 0}), "tasks = 0 is refused")
ok(not pcall(S.script, {sweep = "/s.lua", mode = "grid"}), "an unknown mode is refused")

-- through the CLI, then run the script as bash would on a node (array task 1 of 3)
local sweep = tmp .. "/fake sweep.lua"
local f = assert(io.open(sweep, "w"))
f:write('print("shard=" .. tostring(os.getenv("MTO_SHARD")) .. " threads=" .. tostring(os.getenv("OPENBLAS_NUM_THREADS")) .. " arg=" .. tostring(arg[1]))\n')
f:close()
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  return out, tonumber(out:match("exit=(%d+)%s*$"))
end
local q = function(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local out, code = sh(string.format("cd %s && %s slurm %q --tasks 3 --cpus 2 --mto %s --logs logs -o job.sh -- hello",
                                   q(tmp), q(mto_bin), "fake sweep.lua", q(mto_bin)))
ok(code == 0 and out:find("submit with: sbatch job.sh", 1, true), "mto slurm -o FILE writes the script (exit " .. tostring(code) .. ")")
local fj = io.open(tmp .. "/logs", "r")
ok(fj ~= nil, "the log directory is created (sbatch does not)")
if fj then fj:close() end
local bash = sh("command -v bash")
if bash:find("/", 1, true) then
  local _, syn = sh("bash -n " .. q(tmp .. "/job.sh"))
  ok(syn == 0, "the script is valid bash")
  local run, rc = sh(string.format("cd %s && SLURM_ARRAY_TASK_ID=1 SLURM_CPUS_PER_TASK=2 bash job.sh", q(tmp)))
  ok(rc == 0 and run:find("shard=1/3 threads=2 arg=hello", 1, true), "run as array task 1: MTO_SHARD=1/3, 2 threads, the argument")
  if rc ~= 0 then print("# " .. run:gsub("\n", "\n# ")) end
else
  ok(true, "# SKIP no bash to check the script")
  ok(true, "# SKIP no bash to run the script")
end
local _, c1 = sh(q(mto_bin) .. " slurm " .. q(tmp .. "/missing.lua"))
ok(c1 == 1, "a missing sweep script: exit 1")
local o2, c2 = sh(q(mto_bin) .. " slurm " .. q(sweep) .. " --frobnicate")
ok(c2 == 2 and o2:find("unknown option '--frobnicate'", 1, true), "an unknown option: exit 2, named")
local o3, c3 = sh(q(mto_bin) .. " slurm --help")
ok(c3 == 0 and o3:find("usage: mto slurm", 1, true), "--help")
local o4, c4 = sh(q(mto_bin) .. " slurm " .. q(sweep) .. " --tasks=x")
ok(c4 == 1 and o4:find("--tasks must be a positive integer", 1, true), "--tasks=x: exit 1, named")
os.execute("rm -rf " .. q(tmp))
print("1.." .. n)
