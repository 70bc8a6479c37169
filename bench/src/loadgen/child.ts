import type { LoadJob } from './job.js';
import { runLoad } from './worker.js';

/** The load-generator process: one job in over IPC, one result out, exit. */
process.once('message', (job: LoadJob) => {
  runLoad(job).then(
    (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
    (error: unknown) => process.send?.({ ok: false, error: String(error) }, () => process.exit(1)),
  );
});
