/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by kernel_shardgate_ipsec.c (SAs, events, the object) and
 * kernel_shardgate_policy.c (policies): the plugin's state and the helpers
 * both halves call. Hidden: none of it is part of the plugin's symbols.
 */
#ifndef KERNEL_SHARDGATE_PRIV_H_
#define KERNEL_SHARDGATE_PRIV_H_

#include "kernel_shardgate_ipsec.h"
#include "kernel_shardgate_algs.h"
#include "shardgate_ctl.h"

#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include <daemon.h>
#include <collections/array.h>
#include <collections/hashtable.h>
#include <processing/jobs/callback_job.h>
#include <threading/mutex.h>

/* charon's own SPI range (kernel_interface.h), as kernel-netlink uses */
#define SPI_LO KERNEL_SPI_MIN
#define SPI_HI KERNEL_SPI_MAX
/* shardgate's longest grace for the old inbound SA of a rekey (ms): charon
 * deletes it itself, which ends the grace at once (requests.c del_sa) */
#define GRACE_MS_MAX 3600000
#define REQ_MAX 1024
/** shardgate_alg_words(): the longest is AES-256-CBC with HMAC-SHA-512 */
#define ALG_WORDS_MAX 448
/* our "client NAME": shardgate's origin of what we install */
#define CLIENT_NAME "kernel-shardgate"

typedef struct private_kernel_shardgate_ipsec_t private_kernel_shardgate_ipsec_t;

typedef enum {
	/** outbound successor held here until its policy switches to it */
	SA_PENDING,
	/** in shardgate */
	SA_LIVE,
	/** outbound SA whose slot a "rekey out" gave to its successor */
	SA_REPLACED,
} sa_state_t;

typedef struct {
	uint32_t spi;	/* host order */
	host_t *src;
	host_t *dst;
	bool inbound;
	uint32_t reqid;
	const shardgate_alg_t *alg;
	/** kept while shardgate may need it: for a pending SA's "rekey out",
	 * and to install the SA again in a restarted shardgate; wiped with the
	 * entry, or once the SA's slot went to its successor */
	chunk_t key;
	/** the HMAC's key for AES-CBC (empty for an AEAD), kept and wiped
	 * with key */
	chunk_t int_key;
	/** charon's limits (if has_lifetime), counted from installed */
	lifetime_cfg_t lifetime;
	bool has_lifetime;
	time_t installed;
	/** inbound successor of a "rekey in": the old SA's grace (ms) */
	uint64_t grace_ms;
	uint32_t replay;
	bool esn;
	/** ESP in UDP (NAT-T): the outer ports of this SA's packets */
	bool encap;
	uint16_t sport;
	uint16_t dport;
	/** outbound TFC padding (RFC 4303 §2.7), charon's tfc: pad to this
	 * many bytes, UINT32_MAX as far as the MTU allows, 0 none */
	uint32_t tfc;
	sa_state_t state;
	/** charon deleted it; removed once no shardgate policy names it */
	bool dying;
	/** inbound: the SA a "rekey in" moved to */
	uint32_t successor;
	/** inbound: first SPI of its rekey chain (shardgate's policy tag) */
	uint32_t chain;
	uint64_t bytes;
	uint64_t packets;
	/** what earlier shardgate runs counted, under the current counters */
	uint64_t bytes_base;
	uint64_t packets_base;
	/** the resync() that last installed it again */
	u_int resynced;
	time_t last_use;
} sa_entry_t;

typedef struct {
	uint32_t spi;
	uint32_t reqid;
	u_int refs;
} policy_user_t;

typedef struct {
	bool out;
	char src[24];
	char dst[24];
	uint8_t proto;
	uint16_t sport[2];
	uint16_t dport[2];
	policy_type_t type;
	uint32_t pri;
	/** protect: the SPI shardgate's rule names */
	uint32_t sg_spi;
	/** policy_user_t, charon's installs of this selector */
	array_t *users;
} policy_entry_t;

struct private_kernel_shardgate_ipsec_t {
	kernel_shardgate_ipsec_t public;
	shardgate_ctl_t *ctl;
	/** a second connection, for the event reader */
	shardgate_ctl_t *ev_ctl;
	/** sa_entry_t by (spi, dst) */
	hashtable_t *sas;
	/** policy_entry_t */
	linked_list_t *policies;
	mutex_t *mutex;
	uint64_t last_event;
	/** the shardgate run that holds our SAs ("instance" of "events") */
	uint64_t instance;
	/** resync() runs so far */
	u_int resyncs;
	u_int events_ms;
};

#pragma GCC visibility push(hidden)

bool ask(private_kernel_shardgate_ipsec_t *this, const char *what, const char *req, char **reply);
/** "add sa ..." for @p sa with sa->key. */
bool install_sa(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa);
/** "rekey in OLD NEW" giving @p new the key in new->key. */
bool install_rekey_in(private_kernel_shardgate_ipsec_t *this, sa_entry_t *old,
					  sa_entry_t *new);
/** shardgate's lifetime words for what is left of @p sa's (all of them for
 * a new SA), into @p buf. */
void life_left(sa_entry_t *sa, char *buf, size_t len);
/** The inbound SA whose "rekey in" moved to @p sa, if it is still there. */
sa_entry_t *rekeyed_from(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa);
/** Put policy @p p in shardgate ("add sp"), protecting with p->sg_spi. */
bool policy_install(private_kernel_shardgate_ipsec_t *this, policy_entry_t *p);
/** shardgate restarted: install every SA and policy again (resync.c). */
void resync(private_kernel_shardgate_ipsec_t *this);
bool ipv4_text(host_t *host, char *buf, size_t len);
void reap(private_kernel_shardgate_ipsec_t *this);
bool refresh(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa);
void rename_policies(private_kernel_shardgate_ipsec_t *this, bool out, uint32_t from, uint32_t to);
sa_entry_t *sa_find(private_kernel_shardgate_ipsec_t *this, uint32_t spi, host_t *dst);
void policy_destroy(policy_entry_t *p);
/** charon's update_sa: "move sa" when only the far end moved (a NAT
 * rebinding, MOBIKE's new peer address), NOT_SUPPORTED when our own end or
 * the encapsulation changes (kernel_shardgate_events.c). */
status_t follow_peer(private_kernel_shardgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
					 kernel_ipsec_update_sa_t *data);
/** The event reader's job: expiries, mappings, restarts (events.c). */
job_requeue_t read_events(private_kernel_shardgate_ipsec_t *this);
/** Fill in the policy methods of the interface (kernel_shardgate_policy.c). */
void kernel_shardgate_policy_methods(private_kernel_shardgate_ipsec_t *this);

#pragma GCC visibility pop

#endif /* KERNEL_SHARDGATE_PRIV_H_ */
