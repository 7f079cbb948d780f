/** The Graph request shapes of every channel: adding a channel is adding a module and a row here. */
import type { Channel } from '../queue/recipient.ts';
import { instagramShape } from './instagram/outbound.ts';
import { messengerShape } from './messenger/outbound.ts';
import type { ChannelShape, SendTarget } from './outbound-shape.ts';
import { whatsappShape } from './whatsapp/outbound.ts';

const SHAPES: Record<Channel, ChannelShape> = {
  messenger: messengerShape,
  instagram: instagramShape,
  whatsapp: whatsappShape,
};

export const channelShapeOf = (channel: Channel | undefined): ChannelShape => SHAPES[channel ?? 'messenger'];

/** The send target of a queued step: only the fields it has, so Messenger steps stay as they were. */
export const sendTargetOf = (step: SendTarget): SendTarget => ({
  pageId: step.pageId,
  psid: step.psid,
  ...(step.channel !== undefined && { channel: step.channel }),
  ...(step.inboundMid !== undefined && { inboundMid: step.inboundMid }),
});
