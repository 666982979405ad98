// Original file: networkservice/connection.proto

export const State = {
  UP: 'UP',
  DOWN: 'DOWN',
  REFRESH_REQUESTED: 'REFRESH_REQUESTED',
  RESELECT_REQUESTED: 'RESELECT_REQUESTED',
} as const;

export type State =
  | 'UP'
  | 0
  | 'DOWN'
  | 1
  | 'REFRESH_REQUESTED'
  | 2
  | 'RESELECT_REQUESTED'
  | 3

export type State__Output = typeof State[keyof typeof State]
