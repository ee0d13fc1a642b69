// Preloaded into each Azurite service (node --require): the service exits once the process that started it is gone.
// The owner (AzuriteEmulator) holds this process's stdin open and never writes to it. The pipe reaches end-of-file
// when the owner exits for any reason, a kill -9 included, which no exit handler of the owner can promise.
// SIGINT lets Azurite close its server and save what it keeps on disk; whatever still runs 10 s later is ended.
'use strict';
// Before Azurite has set its SIGINT handler there is nothing to close or save, and SIGINT would kill the process with
// the signal (exit code 130) instead: then it exits at once, cleanly.
const ownerGone = () => {
  if (process.listenerCount('SIGINT') === 0) {
    process.exit(0);
  }
  setTimeout(() => process.exit(0), 10000).unref();
  process.kill(process.pid, 'SIGINT');
};
process.stdin.once('end', ownerGone);
process.stdin.once('error', ownerGone);
process.stdin.resume();
