/** A one-table DynamoDB stand-in answering GetItem/PutItem by the state table key, recording each command. */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { STATE_TABLE_KEY } from '../../lib/platform/ledger.ts';

export type StateItem = Record<string, AttributeValue>;

export const fakeStateTable = () => {
  const items = new Map<string, StateItem>();
  const commands: (GetItemCommand | PutItemCommand)[] = [];
  const send = async (command: unknown): Promise<{ Item?: StateItem }> => {
    if (command instanceof PutItemCommand) {
      commands.push(command);
      const item = command.input.Item ?? {};
      items.set(item[STATE_TABLE_KEY]?.S ?? '', item);
      return {};
    }
    if (command instanceof GetItemCommand) {
      commands.push(command);
      const item = items.get(command.input.Key?.[STATE_TABLE_KEY]?.S ?? '');
      return item === undefined ? {} : { Item: item };
    }
    throw new Error('fakeStateTable: only GetItem and PutItem');
  };
  const client = { send } as unknown as Pick<DynamoDBClient, 'send'>;
  return { items, commands, client };
};
