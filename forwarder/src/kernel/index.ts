/** The kernel layer: the native netlink addon, netlink messages, namespaces. */
export * from './native.js';
export * from './netlink/address-info.js';
export * from './netlink/address-requests.js';
export * from './netlink/attributes.js';
export * from './netlink/batch.js';
export * from './netlink/constants.js';
export * from './netlink/errors.js';
export * from './netlink/inet.js';
export * from './netlink/link-info.js';
export * from './netlink/link-requests.js';
export * from './netlink/message.js';
export * from './netlink/neighbor-requests.js';
export * from './netlink/netlink.js';
export * from './netlink/route-requests.js';
export * from './netlink/structs.js';
export * from './netlink/validate.js';
export * from './netns.js';
