// Values from <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>,
// <linux/neighbour.h> and <linux/veth.h>. They are kernel ABI, so they never change.

/** Netlink message types and flags (`nlmsghdr`). */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3 } as const;

/** `nlmsghdr.nlmsg_flags`. REPLACE/EXCL share bits with ROOT/MATCH: they apply to NEW requests only. */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  /** In an NLMSG_ERROR reply: the request payload was not echoed back. */
  CAPPED: 0x100,
  /** In an NLMSG_ERROR reply: extended-ack attributes follow. */
  ACK_TLVS: 0x200,
} as const;

/** Extended-ack attributes of an NLMSG_ERROR reply. */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2 } as const;

/** rtnetlink message types. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  NEWNEIGH: 28,
  DELNEIGH: 29,
} as const;

/** Address families used in rtnetlink headers. */
export const AF = { UNSPEC: 0, INET: 2, INET6: 10 } as const;

/** `ifinfomsg` attributes. */
export const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  /** The bridge (or bond) a link is a port of; 0 in a request releases it. */
  MASTER: 10,
  LINKINFO: 18,
  IFALIAS: 20,
  /** VF settings of an SR-IOV PF: IFLA_VF_INFO entries. */
  VFINFO_LIST: 22,
  /** `struct rtnl_link_stats64`: the link's counters (in every RTM_NEWLINK reply). */
  STATS64: 23,
  NET_NS_FD: 28,
  /** With a namespace move: the index the link gets there (EEXIST if taken). */
  NEW_IFINDEX: 49,
} as const;

/** Attributes nested in IFLA_LINKINFO. */
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;

/** IFLA_VFINFO_LIST holds IFLA_VF_INFO entries, each with the settings of one VF. */
export const IFLA_VF_INFO = 1;
/** Settings in an IFLA_VF_INFO: `ifla_vf_mac { u32 vf; u8 mac[32] }`, `ifla_vf_vlan { u32 vf, vlan, qos }`. */
export const IFLA_VF = { MAC: 1, VLAN: 2 } as const;

/** Attribute nested in the veth IFLA_INFO_DATA: the peer's own ifinfomsg and attributes. */
export const VETH_INFO_PEER = 1;

/** Attributes nested in the vxlan IFLA_INFO_DATA. */
export const IFLA_VXLAN = {
  ID: 1,
  GROUP: 2,
  LOCAL: 4,
  TTL: 5,
  LEARNING: 7,
  PORT: 15,
  GROUP6: 16,
  LOCAL6: 17,
  /** Outer don't-fragment: 0 unset (the kernel default), 1 set, 2 inherit. */
  DF: 29,
} as const;

/** Attributes nested in the tun IFLA_INFO_DATA (read only: the kernel reports them, never takes them). */
export const IFLA_TUN = {
  OWNER: 1,
  GROUP: 2,
  TYPE: 3,
  PI: 4,
  VNET_HDR: 5,
  PERSIST: 6,
  MULTI_QUEUE: 7,
} as const;
/** IFLA_TUN_TYPE values (the IFF_TUN / IFF_TAP flags). */
export const TUN_TYPE = { TUN: 1, TAP: 2 } as const;

/** `ifinfomsg.ifi_flags`. */
export const IFF_UP = 0x1;

/** `ifaddrmsg` attributes and flags. */
export const IFA = { ADDRESS: 1, LOCAL: 2, FLAGS: 8 } as const;
export const IFA_F = { NODAD: 0x02, PERMANENT: 0x80 } as const;

/** `rtmsg` attributes, values and flags. */
export const RTA = { DST: 1, OIF: 4, GATEWAY: 5, TABLE: 15 } as const;
export const RT_TABLE_MAIN = 254;
export const RTPROT_STATIC = 4;
export const RT_SCOPE = { UNIVERSE: 0, LINK: 253, NOWHERE: 255 } as const;
export const RTN_UNICAST = 1;
export const RTNH_F_ONLINK = 0x4;

/** `ndmsg` attributes and states. */
export const NDA = { DST: 1, LLADDR: 2 } as const;
export const NUD_PERMANENT = 0x80;

/** Longest interface name the kernel accepts (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;
/** Longest interface alias the kernel accepts (IFALIASZ - 1). */
export const IFALIAS_MAX = 255;
