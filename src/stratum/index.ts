/** The pure Stratum V1 codec: bytes to typed requests and typed replies to lines. No sockets here. */
export { LineFramer, DEFAULT_MAX_LINE_BYTES, looksLikeTlsHello, type FramedLines, type LineFramerOptions } from './line-framer.js'
export { decodeRequest, MAX_JSON_DEPTH, MAX_PARAMS, MAX_EXTENSIONS, MAX_USER_AGENT_LENGTH, MAX_WORKER_NAME_LENGTH, type DecodeOptions } from './decode.js'
export type {
  AuthorizeRequest,
  ConfigureInfo,
  ConfigureRequest,
  DecodeFailure,
  DecodeFailureReason,
  DecodeResult,
  ExtranonceSubscribeRequest,
  GetTransactionsRequest,
  MultiVersionRequest,
  PingRequest,
  ResponseMessage,
  StratumRequest,
  SubmitRequest,
  SubscribeRequest,
  SuggestDifficultyRequest,
  SuggestTargetRequest,
  UnknownRequest,
} from './requests.js'
export {
  encodeResult,
  encodeError,
  encodeReject,
  encodeSubscribeResult,
  encodeConfigureResult,
  encodeNotify,
  encodeSetDifficulty,
  encodeSetVersionMask,
  encodeSetExtranonce,
  encodeReconnect,
  encodeShowMessage,
  encodePing,
  encodeGetVersion,
  type ConfigureGrant,
  type HexInput,
  type NotifyJob,
  type ReconnectTarget,
  type SubscribeGrant,
} from './encode.js'
export { REJECT_CODES, REJECT_REASONS, rejectCode, rejectMessage, type RejectReason, type StratumErrorCode } from './reject-codes.js'
export { formatJsonNumber, hex8, parseHexUint32, parseHexBytes, UINT32_MAX, type JsonRpcId } from './wire-format.js'
