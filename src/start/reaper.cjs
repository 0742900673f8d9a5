// Stops what `npm start` started when `npm start` itself dies without cleaning up (SIGKILL, a
// crash): the supervisor writes each child's pid to this process's stdin and holds the pipe open
// while it lives. When the pipe closes, every pid still alive gets SIGTERM, then SIGKILL after 10 s.
// Plain JavaScript so it starts in milliseconds; detached from signals meant for the supervisor.
'use strict';
const pids = new Set();
let buffered = '';
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => undefined);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  buffered += text;
  const lines = buffered.split('\n');
  buffered = lines.pop();
  for (const line of lines) if (/^\d+$/.test(line)) pids.add(Number(line));
});
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
process.stdin.on('close', () => {
  const left = [...pids].filter(alive);
  for (const pid of left) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  const check = setInterval(() => {
    const still = left.filter(alive);
    if (still.length === 0 || Date.now() > deadline) {
      for (const pid of still) process.kill(pid, 'SIGKILL');
      clearInterval(check);
      process.exit(0);
    }
  }, 200);
});
