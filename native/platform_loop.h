#ifndef UDPKIT_PLATFORM_LOOP_H
#define UDPKIT_PLATFORM_LOOP_H
#include "platform.h"
int udpk_recv_loop(int fd, udpk_msg *msgs, unsigned n, int *deferred);
int udpk_send_loop(int fd, udpk_msg *msgs, unsigned n);
#endif
