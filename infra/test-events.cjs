/**
 * Builds the send function's shareable Lambda console test events from infra/events/send-*.json.
 * serverless.yml reads it with ${file(infra/test-events.cjs)}; osls loads only .js/.cjs files with require(),
 * hence CommonJS here. Returns the schema Content string (the event data itself lives in the JSON files).
 *
 * Format (AWS Lambda Developer Guide, "Shareable test events"; the AWS SAM CLI's `sam remote test-event`
 * writes the same): an OpenAPI 3 document in registry `lambda-testevent-schemas`, schema
 * `_<function name>-schema`; each saved event is `components.examples.<name>.value`.
 */
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/** Lambda console test event names: letters, digits, '-' and '_', at most 25 characters. */
const EVENT_NAME = /^[A-Za-z0-9_-]{1,25}$/;

const eventsDir = join(__dirname, 'events');

const examples = () => {
  const out = {};
  for (const file of readdirSync(eventsDir)
    .filter((f) => /^send-.+\.json$/.test(f))
    .sort()) {
    const name = file.slice('send-'.length, -'.json'.length);
    if (!EVENT_NAME.test(name))
      throw new Error(`${file}: test event name "${name}" must match ${EVENT_NAME}`);
    out[name] = { value: JSON.parse(readFileSync(join(eventsDir, file), 'utf8')) };
  }
  if (Object.keys(out).length === 0) throw new Error(`no send-*.json events in ${eventsDir}`);
  return out;
};

/** A descriptive schema of the send payload for the console; the function validates with zod (lib/console/send.ts). */
const eventSchema = {
  type: 'object',
  required: ['pageId', 'psid'],
  properties: {
    channel: { type: 'string', enum: ['messenger', 'instagram', 'whatsapp'], default: 'messenger' },
    pageId: { type: 'string' },
    psid: { type: 'string' },
    inboundMid: { type: 'string', description: 'WhatsApp: the received message (wamid) typing is shown on' },
    sequenceId: { type: 'string' },
    inboundText: { type: 'string' },
    replies: { type: 'array', items: { type: 'object' } },
    steps: { type: 'array', items: { type: 'object' } },
  },
};

const testEventSchemaContent = () =>
  JSON.stringify({
    openapi: '3.0.0',
    info: { version: '1.0.0', title: 'Event' },
    paths: {},
    components: { schemas: { Event: eventSchema }, examples: examples() },
  });

module.exports = testEventSchemaContent;
