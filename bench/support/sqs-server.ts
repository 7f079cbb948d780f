/**
 * The local SQS (fauxqs, local/sqs.ts) in its own process for benches, so the queue's CPU does not
 * share an event loop with the sender being measured. Prints the LocalSqs fields as one JSON line;
 * exits when stdin closes. `--visibility N` sets the step queue's visibility timeout in seconds.
 */
import { startLocalSqs } from '../../local/sqs.ts';

const flag = (name: string): number | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};

const visibility = flag('--visibility');
const sqs = await startLocalSqs(visibility === undefined ? {} : { visibilityTimeoutSeconds: visibility });
const { endpoint, region, queueUrl, queueArn, dlqUrl, dlqArn, env } = sqs;
process.stdout.write(`${JSON.stringify({ endpoint, region, queueUrl, queueArn, dlqUrl, dlqArn, env })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void sqs.stop();
});
