/* Control messages, read and written in one place: what the kernel attaches
 * to a received datagram (drop counter, coalesced segment size) and what a
 * send attaches for it (segment size). Everything platform-specific about
 * them is here; a platform without one reads as "absent". */
#ifndef UDPKIT_CMSG_H
#define UDPKIT_CMSG_H

#include <stdint.h>
#include <sys/socket.h>

/* Room for the control data one received datagram can carry. */
#define UDPK_CTRL_SIZE 64

/* Reads the drop counter from a received message's control data.
 * 1 when found (stored in *out), 0 when absent. */
int udpk_read_drop_counter(const struct msghdr *hdr, uint32_t *out);

/* The segment size of a coalesced received message, or 0 when it is one
 * datagram. */
int udpk_read_gro_size(const struct msghdr *hdr);

/* Room for a UDP_SEGMENT control message. */
#define UDPK_GSO_CTRL_SIZE 32

/* Points hdr's control data at ctrl (UDPK_GSO_CTRL_SIZE bytes) holding a
 * UDP_SEGMENT of segment_size. */
void udpk_set_gso(struct msghdr *hdr, unsigned char *ctrl, uint16_t segment_size);

#endif
