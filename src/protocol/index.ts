/**
 * @module gapless-replay/protocol
 * Wire types and the frame rules, for people writing their own client or platform.
 */
export type {
  ReqId, ControlFrame, SubscribeRequest, UnsubscribeRequest, SubscribeBatchRequest, ReplayRequest, ReplayBatchRequest,
  Envelope, ReplayFrame, TruncatedData, MsgData, DeniedData, EndData, SubscribedFrame, SubscribeDeniedFrame, ErrorFrame,
} from './frames.js';
export { normalizeReqId, decodeFrame, controlType, MAX_BATCH_ITEMS, MAX_REQID_LENGTH } from './parse.js';
export { planReplay, type ReplayPlan, type Snapshot } from './serve.js';
export { isValidTopic, isValidEvent, isSystemTopic, REPLAY_PREFIX, MAX_TOPIC_LENGTH, MAX_EVENT_LENGTH } from '../core/names.js';
export { isValidEpoch, isValidSeq, isPosition, compareSeq, type Position, type Since } from '../core/position.js';
