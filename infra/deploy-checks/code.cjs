/**
 * The source of the deploy-checks custom resource function, inlined into the template as its Code.ZipFile:
 * serverless.yml reads it with ${file(infra/deploy-checks/code.cjs)} (osls require()s .cjs files and calls
 * an exported function), so the template carries exactly infra/deploy-checks/handler.cjs, the file the unit
 * tests load. Inline code needs no artifact bucket object of its own and runs on the runtime's AWS SDK.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

module.exports = () => readFileSync(join(__dirname, 'handler.cjs'), 'utf8');
