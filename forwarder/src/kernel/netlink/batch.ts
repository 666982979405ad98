import { Code, NsmError } from '@nsm-ts/sdk/core';
import { NLMSG } from './constants.js';
import { KernelError } from './errors.js';
import {
  type AckStatus,
  type NetlinkMessage,
  type NetlinkRequest,
  decodeAck,
  encodeRequest,
  isTerminal,
} from './message.js';

/** A batch encoded with its sequence numbers, ready for one send. */
export interface EncodedBatch {
  readonly requests: readonly NetlinkRequest[];
  readonly seqs: readonly number[];
  readonly buffer: Buffer;
}

/** Encodes requests back to back, numbering them from `firstSeq`. */
export function encodeBatch(requests: readonly NetlinkRequest[], firstSeq: number): EncodedBatch {
  const seqs = requests.map((_, i) => (firstSeq + i) >>> 0);
  const buffer = Buffer.concat(requests.map((r, i) => encodeRequest(r, seqs[i] ?? 0)));
  return { requests, seqs, buffer };
}

/** Short description of a batch for errors that are not tied to one message. */
export function describeBatch(requests: readonly NetlinkRequest[]): string {
  const first = requests[0]?.operation ?? 'empty batch';
  return requests.length > 1 ? `${first} and ${requests.length - 1} more` : first;
}

/**
 * Matches replies to requests by sequence number and checks every ack. The kernel processes every
 * message of a batch even after one fails (a batch is not a transaction), so the first failure in
 * request order is the one reported, naming its position.
 * Returns the data messages (replies other than acks) of each request, in request order.
 */
export function settleBatch(batch: EncodedBatch, replies: readonly NetlinkMessage[]): NetlinkMessage[][] {
  const indexBySeq = new Map(batch.seqs.map((seq, i) => [seq, i]));
  const data = batch.requests.map((): NetlinkMessage[] => []);
  const status: (AckStatus | undefined)[] = batch.requests.map(() => undefined);
  for (const msg of replies) {
    const i = indexBySeq.get(msg.seq);
    // Replies of an earlier, abandoned batch carry other sequence numbers.
    if (i === undefined || status[i] !== undefined || msg.type === NLMSG.NOOP) continue;
    if (isTerminal(msg)) status[i] = decodeAck(msg);
    else data[i]?.push(msg);
  }
  const count = batch.requests.length;
  batch.requests.forEach((req, index) => {
    const s = status[index];
    if (s === undefined)
      throw new NsmError(Code.INTERNAL, `${req.operation}: the kernel sent no acknowledgement`);
    if (s.errno !== 0) {
      throw new KernelError(req.operation, s.errno, {
        ...(s.detail ? { detail: s.detail } : {}),
        ...(count > 1 ? { position: { index, count } } : {}),
      });
    }
  });
  return data;
}
