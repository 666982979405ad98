// Original file: networkservice/connection.proto


export interface Mechanism {
  'cls'?: (string);
  'type'?: (string);
  'parameters'?: ({[key: string]: string});
}

export interface Mechanism__Output {
  'cls': (string);
  'type': (string);
  'parameters': ({[key: string]: string});
}
