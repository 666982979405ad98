/** Helpers shared by the memif tests and the memif benchmark: testpmd, traffic, veth pairs, names. */
export { abstractName, Closer, tempDir } from './names.js';
export { Testpmd, TESTPMD, type TestpmdCounts, type TestpmdOptions, type TestpmdSample } from './testpmd.js';
export { blast, countFrames, ethFrame, exchange, isSwapped } from './traffic.js';
export { linkStats, pingFrom, vethPair, type VethPair } from './wires.js';
