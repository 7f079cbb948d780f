// biome-ignore-all lint/style/useTemplate: osls resolves its variable placeholders in this file's text (see below)
/**
 * Deploy-time checks of the Ellipsis stack, run by CloudFormation as custom resources (inlined into the
 * template as the DeployChecksFunction's ZipFile by infra/deploy-checks/code.cjs, hence plain CommonJS:
 * "the index file that CloudFormation creates uses the extension .js", AWS::Lambda::Function Code.ZipFile).
 *
 * - Custom::TestEventRegistry: makes sure the EventBridge schema registry `lambda-testevent-schemas` exists.
 *   The Lambda console creates it when someone first saves a shareable test event, so a fresh account or
 *   region has none and the saved test events of the send function would roll the stack back; a stack that
 *   created it itself would fail wherever it exists (AlreadyExists). So: create it only when missing, and
 *   never delete it (the console and other stacks keep their events in it).
 * - Custom::StageSecrets: fails the deploy, naming them, when SSM parameters the functions read are missing.
 *   CloudFormation cannot do this itself: `AWS::SSM::Parameter::Value` stack parameters and `{{resolve:ssm}}`
 *   refuse SecureString, and `{{resolve:ssm-secure}}` works only in a few resource properties (CloudFormation
 *   User Guide, dynamic references). Reads metadata only (no WithDecryption, so no KMS and no secret value).
 *
 * No template literals with placeholders in this file: osls resolves its own variable syntax in what
 * the file() variable returns, so they would break `npm run package`.
 *
 * Node 24 Lambda handlers must be async (no callback), so the response to CloudFormation is a plain fetch
 * PUT to the pre-signed ResponseURL (CloudFormation User Guide, custom resource response objects).
 */
const REGISTRY_TYPE = 'Custom::TestEventRegistry';
const SECRETS_TYPE = 'Custom::StageSecrets';

/** The names Custom::StageSecrets must find: fixed names under the prefix, plus one per account id. */
const secretNames = (props) => {
  const prefix = String(props.Prefix ?? '');
  const fixed = (props.Names ?? []).map((name) => prefix + '/' + name);
  const ids = String(props.AccountIds ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  return [...fixed, ...ids.map((id) => prefix + '/accounts/' + id)];
};

/** Create/Update: the registry exists afterwards (created only if missing). Delete: left in place. */
const ensureRegistry = async (event, deps) => {
  const name = String(event.ResourceProperties.RegistryName);
  if (event.RequestType !== 'Delete' && !(await deps.registryExists(name))) await deps.createRegistry(name);
  return { PhysicalResourceId: name, Data: { RegistryName: name } };
};

/** Create/Update: every named parameter exists, or the deploy fails naming the missing ones. */
const checkSecrets = async (event, deps) => {
  const physicalId = event.ResourceProperties.Prefix + '-secrets';
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId, Data: {} };
  const names = secretNames(event.ResourceProperties);
  const found = await Promise.all(names.map((name) => deps.parameterExists(name)));
  const missing = names.filter((_, i) => !found[i]);
  if (missing.length > 0)
    throw new Error(
      'missing SSM parameter(s) ' +
        missing.join(', ') +
        ': create them as SecureString and deploy again (docs/deploy.md; npm run doctor)',
    );
  return { PhysicalResourceId: physicalId, Data: { Count: String(names.length) } };
};

/** The response body for CloudFormation; a failure keeps the physical id so a rollback's Delete matches. */
const respond = async (event, deps) => {
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  const fallbackId = event.PhysicalResourceId ?? event.LogicalResourceId + '-failed';
  try {
    const run = { [REGISTRY_TYPE]: ensureRegistry, [SECRETS_TYPE]: checkSecrets }[event.ResourceType];
    if (!run) throw new Error('unknown custom resource type ' + event.ResourceType);
    return { ...base, Status: 'SUCCESS', ...(await run(event, deps)) };
  } catch (error) {
    const reason = String(error instanceof Error ? error.message : error).slice(0, 1000);
    return { ...base, Status: 'FAILED', Reason: reason, PhysicalResourceId: fallbackId };
  }
};

const isNotFound = (error) => ['NotFoundException', 'ParameterNotFound'].includes(error?.name);

/** The AWS side, built on first use from the SDK the Lambda Node.js runtime ships (every @aws-sdk client). */
const awsDeps = () => {
  const schemas = require('@aws-sdk/client-schemas');
  const ssm = require('@aws-sdk/client-ssm');
  const schemasClient = new schemas.SchemasClient({});
  const ssmClient = new ssm.SSMClient({});
  const exists = (send) =>
    send.then(
      () => true,
      (e) => (isNotFound(e) ? false : Promise.reject(e)),
    );
  return {
    registryExists: (name) =>
      exists(schemasClient.send(new schemas.DescribeRegistryCommand({ RegistryName: name }))),
    // Another stack may create it between our look and our create: its ConflictException means it exists.
    createRegistry: (name) =>
      schemasClient
        .send(
          new schemas.CreateRegistryCommand({
            RegistryName: name,
            Description: 'Shareable Lambda console test events',
          }),
        )
        .catch((e) => (e?.name === 'ConflictException' ? undefined : Promise.reject(e))),
    parameterExists: (name) =>
      exists(ssmClient.send(new ssm.GetParameterCommand({ Name: name, WithDecryption: false }))),
  };
};

/** PUTs the response; CloudFormation's pre-signed URL wants no content type (User Guide, cfn-response). */
const sendResponse = async (url, body) => {
  const text = JSON.stringify(body);
  const res = await fetch(url, { method: 'PUT', body: text, headers: { 'content-type': '' } });
  if (!res.ok) throw new Error('CloudFormation response PUT answered ' + res.status);
};

/** The Lambda handler over deps made on first use: always answers CloudFormation, success or failure. */
const makeHandler = (makeDeps) => {
  let deps;
  return async (event) => {
    deps ??= makeDeps();
    const body = await respond(event, deps);
    const { LogicalResourceId, RequestType } = event;
    console.log(JSON.stringify({ LogicalResourceId, RequestType, status: body.Status, reason: body.Reason }));
    await sendResponse(event.ResponseURL, body);
  };
};

const handler = makeHandler(awsDeps);

module.exports = { handler, makeHandler, respond, secretNames, sendResponse };
