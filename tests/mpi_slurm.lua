-- mpi_slurm.lua — `mto slurm` and mto.slurm.script: the job-array and MPI batch
-- scripts carry the right directives and commands, run as bash they start the
-- sweep script with the shard of the array task, and the CLI reports bad usage. TAP.
local S = require "mto.slurm"
local T = dofile((os.getenv("MTO_SRCDIR") or ".") .. "/tests/tap.lua")
local ok, has = T.ok, T.like
local mto_bin = (os.getenv("MTO_BUILDDIR") or ".") .. "/mto"
local tmp = os.tmpname()
os.remove(tmp)
require("mto.fs").mkdir(tmp)

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
has(arr, "mto run /data/exp/sweep.lua --quick 'a b' &\nchild=$!\nwait \"$child\"\n", "array: the command, arguments quoted, in the background")
has(arr, "#SBATCH --signal=B:USR1@120\n#SBATCH --requeue\n", "array: USR1 120 s before the limit, requeueable")
has(arr, "trap requeue USR1\n", "array: USR1 trapped")
has(arr, 'scontrol requeue "$id"', "array: the trap requeues with scontrol")
has(arr, 'id="${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID:-}}"', "array: requeues its own task")
has(arr, 'if [ "$n" -ge 10 ]; then', "array: at most 10 requeues")
ok(not arr:find("sbatch --export", 1, true), "without -o FILE no sbatch fallback (the script's path is unknown)")
local nq = S.script{sweep = "/s.lua", no_requeue = true}
ok(not nq:find("USR1", 1, true) and not nq:find("--requeue", 1, true) and nq:find("exec mto run /s.lua\n", 1, true),
   "no_requeue: no signal, no trap, exec as before")
local rq = S.script{sweep = "/s.lua", requeue_before = 300, max_requeues = 3, output = "/w/job.sh"}
has(rq, "#SBATCH --signal=B:USR1@300\n", "requeue_before = 300")
has(rq, 'if [ "$n" -ge 3 ]; then', "max_requeues = 3")
has(rq, 'sbatch --export="ALL,MTO_REQUEUES=$((n + 1))" ${SLURM_ARRAY_TASK_ID:+--array=$SLURM_ARRAY_TASK_ID} /w/job.sh', "with -o FILE: sbatch of itself when scontrol refuses")
ok(not pcall(S.script, {sweep = "/s.lua", requeue_before = 0}), "requeue_before = 0 is refused")
has(arr, "#SBATCH --output=/data/exp/%x-%A_%a.out\n", "array: one log per task")

local mpi = S.script{sweep = "sweep.lua", mode = "mpi", tasks = 4, nodes = 2, workdir = "/w", setup = {"module load openmpi"}}
has(mpi, "#SBATCH --ntasks=4\n#SBATCH --nodes=2\n", "mpi: 4 ranks on 2 nodes")
ok(not mpi:find("--array", 1, true) and not mpi:find("MTO_SHARD", 1, true), "mpi: no array, no MTO_SHARD")
has(mpi, "module load openmpi\n", "mpi: setup line")
has(mpi, 'mpirun -np "${SLURM_NTASKS:-4}" --bind-to none mto run ', "mpi: mpirun over the job's tasks")
has(mpi, 'id="${id:-${SLURM_JOB_ID:-}}"', "mpi: requeues the job")
local srun = S.script{sweep = "/s.lua", mode = "mpi", launcher = "srun", tasks = 2}
has(srun, 'srun --cpus-per-task="${SLURM_CPUS_PER_TASK:-4}" mto run /s.lua &\n', "mpi: srun launcher")
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
  if rc ~= 0 then T.diag(run) end
  -- the time limit: USR1 to the batch shell requeues the job through scontrol (a fake
  -- one on PATH), stops the running sweep and exits 0; when scontrol refuses, sbatch of
  -- the script itself (-o FILE) with the requeue count in MTO_REQUEUES
  local fake = tmp .. "/bin"
  os.execute("mkdir -p " .. q(fake))
  local function tool(name, body)
    local t = assert(io.open(fake .. "/" .. name, "w"))
    t:write("#!/bin/sh\n", body, "\n")
    t:close()
    os.execute("chmod +x " .. q(fake .. "/" .. name))
  end
  tool("scontrol", 'echo "scontrol $*" >> "$CALLS"; exit ${SCONTROL_RC:-0}')
  tool("sbatch", 'echo "sbatch $*" >> "$CALLS"')
  tool("fakemto", 'echo started >> "$CALLS"; trap \'echo stopped >> "$CALLS"; exit 143\' TERM; while :; do sleep 0.1; done')
  local function limit(rc)
    os.remove(tmp .. "/calls")
    sh(string.format("cd %s && %s slurm %q --tasks 3 --mto %s -o job2.sh", q(tmp), q(mto_bin), "fake sweep.lua",
                     q(fake .. "/fakemto")))
    local out, code = sh(string.format("cd %s && export PATH=%s:$PATH CALLS=%s SCONTROL_RC=%d SLURM_ARRAY_JOB_ID=77 " ..
      "SLURM_ARRAY_TASK_ID=2 SLURM_JOB_ID=80; bash job2.sh > limit.log 2>&1 & pid=$!; " ..
      "i=0; while ! grep -q started calls 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; " ..
      "kill -USR1 $pid; wait $pid", q(tmp), q(fake), q(tmp .. "/calls"), rc))
    local cf = io.open(tmp .. "/calls")
    local calls = cf and cf:read("a") or ""
    if cf then cf:close() end
    return calls, code, out
  end
  local calls, code, out = limit(0)
  ok(code == 0 and calls:find("scontrol requeue 77_2\n", 1, true) and calls:find("stopped", 1, true)
     and not calls:find("sbatch", 1, true), "USR1 (time limit): scontrol requeue 77_2, the sweep stopped, exit 0")
  if code ~= 0 then T.diag(calls .. out) end
  calls, code = limit(1)
  ok(code == 0 and calls:find("sbatch --export=ALL,MTO_REQUEUES=1 --array=2 " .. tmp .. "/job2.sh", 1, true),
     "scontrol refused: sbatch --array=2 of the script itself")
  if code ~= 0 or not calls:find("sbatch", 1, true) then T.diag(calls) end
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
T.done()
