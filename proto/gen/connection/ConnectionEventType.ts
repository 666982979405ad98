// Original file: networkservice/connection.proto

export const ConnectionEventType = {
  INITIAL_STATE_TRANSFER: 'INITIAL_STATE_TRANSFER',
  UPDATE: 'UPDATE',
  DELETE: 'DELETE',
} as const;

export type ConnectionEventType =
  | 'INITIAL_STATE_TRANSFER'
  | 0
  | 'UPDATE'
  | 1
  | 'DELETE'
  | 2

export type ConnectionEventType__Output = typeof ConnectionEventType[keyof typeof ConnectionEventType]
