/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "sg_common.h"
#include "sg_crypto.h"
#include "sg_test.h"
#include "test_crypto.h"

/* Room for the longest plaintext any test uses. */
#define DATA_MAX 1536

/* A known-answer vector, hex encoded so it reads as in its source. */
struct kat {
	const char *name;
	enum sg_cipher aead;
	const char *key;
	const char *iv; /* 12 bytes: salt (4) || ESP IV (8), RFC 4106 §4 */
	const char *aad;
	const char *pt;
	const char *ct;
	const char *tag;
};

static const struct kat kats[] = {
	/* McGrew & Viega, "The Galois/Counter Mode of Operation", Appendix B,
	 * test cases 1-3 and 13-15 (96-bit IV, no AAD; cases 4 and 16 carry
	 * 20 bytes of AAD, more than ESP ever has). Re-checked with pyca. */
	{
		.name = "gcm-spec-tc1",
		.aead = SG_AEAD_AES128_GCM,
		.key = "00000000000000000000000000000000",
		.iv = "000000000000000000000000",
		.aad = "",
		.pt = "",
		.ct = "",
		.tag = "58e2fccefa7e3061367f1d57a4e7455a",
	},
	{
		.name = "gcm-spec-tc2",
		.aead = SG_AEAD_AES128_GCM,
		.key = "00000000000000000000000000000000",
		.iv = "000000000000000000000000",
		.aad = "",
		.pt = "00000000000000000000000000000000",
		.ct = "0388dace60b6a392f328c2b971b2fe78",
		.tag = "ab6e47d42cec13bdf53a67b21257bddf",
	},
	{
		.name = "gcm-spec-tc3",
		.aead = SG_AEAD_AES128_GCM,
		.key = "feffe9928665731c6d6a8f9467308308",
		.iv = "cafebabefacedbaddecaf888",
		.aad = "",
		.pt =
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		.ct =
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
			"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
		.tag = "4d5c2af327cd64a62cf35abd2ba6fab4",
	},
	{
		.name = "gcm-spec-tc13",
		.aead = SG_AEAD_AES256_GCM,
		.key = "0000000000000000000000000000000000000000000000000000000000000000",
		.iv = "000000000000000000000000",
		.aad = "",
		.pt = "",
		.ct = "",
		.tag = "530f8afbc74536b9a963b4f1c4cb738b",
	},
	{
		.name = "gcm-spec-tc14",
		.aead = SG_AEAD_AES256_GCM,
		.key = "0000000000000000000000000000000000000000000000000000000000000000",
		.iv = "000000000000000000000000",
		.aad = "",
		.pt = "00000000000000000000000000000000",
		.ct = "cea7403d4d606b6e074ec5d3baf39d18",
		.tag = "d0d1c8a799996bf0265b98b5d48ab919",
	},
	{
		.name = "gcm-spec-tc15",
		.aead = SG_AEAD_AES256_GCM,
		.key = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		.iv = "cafebabefacedbaddecaf888",
		.aad = "",
		.pt =
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		.ct =
			"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
			"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
		.tag = "b094dac5d93471bdec1a502270e3cc6c",
	},
	/* draft-mcgrew-gcm-test-01 (GCM in IPsec ESP): whole ESP packets with
	 * SPI || seq (8 bytes) or SPI || ESN (12 bytes) as AAD; the 192-bit key
	 * case is left out. Re-checked with pyca/cryptography 48.0.0. */
	{
		.name = "esp-1",
		.aead = SG_AEAD_AES128_GCM,
		.key = "4c80cdefbb5d10da906ac73c3613a634",
		.iv = "2e443b684956ed7e3b244cfe",
		.aad = "000043218765432100000000",
		.pt =
			"45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
			"00000000045f736970045f756470037369700963796265726369747902646b00"
			"0021000101020201",
		.ct =
			"fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
			"cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
			"61bc17d768fd9732",
		.tag = "459018148f6cbe722fd04796562dfdb4",
	},
	{
		.name = "esp-2",
		.aead = SG_AEAD_AES128_GCM,
		.key = "feffe9928665731c6d6a8f9467308308",
		.iv = "cafebabefacedbaddecaf888",
		.aad = "0000a5f80000000a",
		.pt =
			"4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
			"0001000000000000037369700963796265726369747902646b00000100010001",
		.ct =
			"deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
			"3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
		.tag = "83b70d3aa8bc6ee4c309e9d85a41ad4a",
	},
	{
		.name = "esp-3",
		.aead = SG_AEAD_AES256_GCM,
		.key = "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
		.iv = "112233440102030405060708",
		.aad = "4a2cbfe300000002",
		.pt =
			"4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
			"7002400020bf0000020405b40101040201020201",
		.ct =
			"ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
			"748a637985771d347f0545659f14e99def842d8e",
		.tag = "b335f4eecfdbf831824b4c4915956c96",
	},
	{
		.name = "esp-4",
		.aead = SG_AEAD_AES128_GCM,
		.key = "00000000000000000000000000000000",
		.iv = "000000000000000000000000",
		.aad = "0000000000000001",
		.pt =
			"4500003c99c500008001cb7a40679318010101010800075c0200440061626364"
			"65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
		.ct =
			"4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284"
			"456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3",
		.tag = "f821d496eeb096e98ad2b69e4799c71d",
	},
	{
		.name = "esp-5",
		.aead = SG_AEAD_AES128_GCM,
		.key = "3de09874b388e6491988d0c3607eae1f",
		.iv = "57690e434e280000a2fca1a3",
		.aad = "42f67e3f1010101010101010",
		.pt =
			"4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
			"65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
		.ct =
			"fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917"
			"65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a",
		.tag = "e0d731cc978ecafaeae88f00e80d6e48",
	},
	{
		.name = "esp-6",
		.aead = SG_AEAD_AES128_GCM,
		.key = "3de09874b388e6491988d0c3607eae1f",
		.iv = "57690e434e280000a2fca1a3",
		.aad = "42f67e3f1010101010101010",
		.pt = "4500001c42a200008001441f406793b6e00000020a00f5ff01020201",
		.ct = "fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed",
		.tag = "369f071f35e034be95f112e4e7d05d35",
	},
	{
		.name = "esp-8",
		.aead = SG_AEAD_AES128_GCM,
		.key = "abbccddef00112233445566778899aab",
		.iv = "decaf888cafedebaceface74",
		.aad = "000001000000000000000001",
		.pt =
			"4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
			"00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
			"9b6266c04722b14923010101",
		.ct =
			"18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
			"9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
			"6f2127b27db35724e7845d68",
		.tag = "651f57e65f354f75ff17015769623436",
	},
	{
		.name = "esp-9",
		.aead = SG_AEAD_AES256_GCM,
		.key = "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
		.iv = "73616c74616e640169766563",
		.aad = "17405e67156f3126dd0db99b",
		.pt =
			"45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602"
			"50101f646d540001",
		.ct =
			"f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
			"f4d3a31ce673119e",
		.tag = "451626c2415771e3b7eebca614c89b35",
	},
	{
		.name = "esp-10",
		.aead = SG_AEAD_AES128_GCM,
		.key = "3de09874b388e6491988d0c3607eae1f",
		.iv = "57690e434e280000a2fca1a3",
		.aad = "42f67e3f1010101010101010",
		.pt =
			"45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b"
			"000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b32"
			"5ae270c03899493915010101",
		.ct =
			"fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d541828"
			"00cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39"
			"ab533163aad4550ee5160975",
		.tag = "cdb608c5769189609763b8e18caa81e2",
	},
	{
		.name = "esp-11",
		.aead = SG_AEAD_AES256_GCM,
		.key = "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
		.iv = "73616c74616e640169766563",
		.aad = "17405e67156f3126dd0db99b",
		.pt =
			"636973636f0172756c657301746865016e6574776501646566696e6501746865"
			"746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f"
			"72726f7701020201",
		.ct =
			"d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18"
			"d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b0"
			"12a49363412364f8",
		.tag = "c0cac587f249e56b11e24f30e44ccc76",
	},
	{
		.name = "esp-12",
		.aead = SG_AEAD_AES128_GCM,
		.key = "7d773d00c144c525ac619d18c84a3f47",
		.iv = "d966426743457e9182443bc6",
		.aad = "335467aeffffffff",
		.pt = "01020201",
		.ct = "437f866b",
		.tag = "cb3f699fe9b0822bac961c4504bef270",
	},
	{
		.name = "esp-13",
		.aead = SG_AEAD_AES128_GCM,
		.key = "abbccddef00112233445566778899aab",
		.iv = "decaf888cafedebaceface74",
		.aad = "000001000000000000000001",
		.pt = "746f016265016f72016e6f7401746f0162650001",
		.ct = "29c9fc69a197d038ccdd14e2ddfcaa0543332164",
		.tag = "412503524303ed3c6c5f283843af8c3e",
	},
	{
		.name = "esp-14",
		.aead = SG_AEAD_AES256_GCM,
		.key = "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961",
		.iv = "7475726e333021696765746d",
		.aad = "796b6963ffffffffffffffff",
		.pt =
			"45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
			"65666768696a6b6c6d6e6f707172737401020201",
		.ct =
			"f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
			"4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9",
		.tag = "d0937ba2945f669368661a329fb4c053",
	},
	/* McGrew & Viega, Appendix B, test cases 7-9: AES-192 (RFC 4106 allows
	 * a 24-byte key; ESP's "aes-192-gcm"). */
	{
		.name = "gcm-spec-tc7",
		.aead = SG_AEAD_AES192_GCM,
		.key = "000000000000000000000000000000000000000000000000",
		.iv = "000000000000000000000000",
		.aad = "",
		.pt = "",
		.ct = "",
		.tag = "cd33b28ac773f74ba00ed1f312572435",
	},
	{
		.name = "gcm-spec-tc8",
		.aead = SG_AEAD_AES192_GCM,
		.key = "000000000000000000000000000000000000000000000000",
		.iv = "000000000000000000000000",
		.aad = "",
		.pt = "00000000000000000000000000000000",
		.ct = "98e7247c07f0fe411c267e4384b0f600",
		.tag = "2ff58d80033927ab8ef4d4587514f0fb",
	},
	{
		.name = "gcm-spec-tc9",
		.aead = SG_AEAD_AES192_GCM,
		.key = "feffe9928665731c6d6a8f9467308308feffe9928665731c",
		.iv = "cafebabefacedbaddecaf888",
		.aad = "",
		.pt =
			"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		.ct =
			"3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
			"7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
		.tag = "9924a7c8587336bfb118024db8674a14",
	},
	/* RFC 8439 §2.8.2, the ChaCha20-Poly1305 AEAD example: a 12-byte AAD,
	 * as ESP's with ESN, and a 114-byte plaintext (RFC 7634 uses this AEAD
	 * as is, nonce = salt || IV). */
	{
		.name = "rfc8439-2.8.2",
		.aead = SG_AEAD_CHACHA20_POLY1305,
		.key = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
		.iv = "070000004041424344454647",
		.aad = "50515253c0c1c2c3c4c5c6c7",
		.pt =
			"4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
			"73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
			"6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
			"637265656e20776f756c642062652069742e",
		.ct =
			"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
			"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
			"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
			"3ff4def08e4b7a9de576d26586cec64b6116",
		.tag = "1ae10b594f09e26a7e902ecbd0600691",
	},
};

/*
 * Lengths and AAD sizes the published vectors lack (0, 1 and 1500 bytes),
 * computed offline with pyca/cryptography 48.0.0 (OpenSSL backend).
 * Inputs, all mod 256: key[i] = 7i + 1, nonce = a0 a1 .. ab,
 * aad[i] = 0x10 + i, pt[i] = 13i + 5. ct_head and ct_tail are the first and
 * last 16 bytes of the ciphertext (all of it when shorter).
 */
struct gen {
	enum sg_cipher aead;
	uint32_t len;
	uint8_t aad_len;
	const char *ct_head;
	const char *ct_tail;
	const char *tag;
};

static const struct gen gens[] = {
	{SG_AEAD_AES128_GCM, 0, 8,
		"",
		"",
		"80aeef252d280475e005555b63e4fec7"},
	{SG_AEAD_AES128_GCM, 1, 8,
		"ce",
		"ce",
		"ea1c2c73ef6a68eb82f48ff00daf31ef"},
	{SG_AEAD_AES256_GCM, 1, 12,
		"54",
		"54",
		"f78cba6c81a645d8dd33aa8836871e4e"},
	{SG_AEAD_AES128_GCM, 17, 12,
		"ce7a80184fa67028268b60e20c424149",
		"7a80184fa67028268b60e20c42414974",
		"ee36160db2a9bdfa88b70b42b1b642a2"},
	{SG_AEAD_AES256_GCM, 255, 8,
		"546df8bc9ec248cd7bd3bc837b7a23d9",
		"68e2003ad38b975fd7f29d4caf21ccf5",
		"6db23f2f3930f60261df5f1fdbd61f53"},
	{SG_AEAD_AES128_GCM, 1500, 8,
		"ce7a80184fa67028268b60e20c424149",
		"d1e22971017471748a1f42ec9b99d912",
		"59ab5cc3ea2784056e0943816707400a"},
	{SG_AEAD_AES256_GCM, 1500, 12,
		"546df8bc9ec248cd7bd3bc837b7a23d9",
		"1320763026a53d22963df58fad9a12c8",
		"49d25498e6c8b5c9ea7f2caddc1e4d6e"},
	{SG_AEAD_AES192_GCM, 1, 8,
		"94",
		"94",
		"660c5b7f7dd0aea18dfc27b2aa1c95da"},
	{SG_AEAD_AES192_GCM, 1500, 12,
		"94f259e8f950596010fc3b78d89b5a68",
		"2258a36ea44cb930db4f696a502876a3",
		"df4f22db883f576282a023d55b7a85fa"},
	{SG_AEAD_CHACHA20_POLY1305, 0, 8,
		"",
		"",
		"2ce3890450e17153382f9276db302ff3"},
	{SG_AEAD_CHACHA20_POLY1305, 1, 12,
		"74",
		"74",
		"78c228f1dc7672bd7a3e039c16293822"},
	{SG_AEAD_CHACHA20_POLY1305, 17, 8,
		"74899b861bdc8fedb283821c3faf05cf",
		"899b861bdc8fedb283821c3faf05cf88",
		"10d637c0543f41704a3726a948a0895f"},
	{SG_AEAD_CHACHA20_POLY1305, 1500, 12,
		"74899b861bdc8fedb283821c3faf05cf",
		"9b5968562f09e8fb793b58daf30c21cc",
		"5a4509e5c8cee7109b13788d33ac0e1b"},
};

/* One key per vector, so a whole table fits in one burst. */
#define N_KEYS 32
/* Ops in the mixed burst test. */
#define N_MIXED 40

static IMB_MGR *mgr;
/* Keys in rte_malloc memory, cache aligned as ipsec-mb reads them. */
static struct sg_crypto_key *keys;

/* Per-op plaintext, working buffer, ICV and reference results. */
static uint8_t pt[SG_CRYPTO_BURST_MAX][DATA_MAX];
static uint8_t buf[SG_CRYPTO_BURST_MAX][DATA_MAX];
static uint8_t ref_ct[SG_CRYPTO_BURST_MAX][DATA_MAX];
static uint8_t icv[SG_CRYPTO_BURST_MAX][SG_CRYPTO_TAG_LEN];
static uint8_t ref_tag[SG_CRYPTO_BURST_MAX][SG_CRYPTO_TAG_LEN];
static struct sg_crypto_op ops[SG_CRYPTO_BURST_MAX];

struct kat_buf {
	uint8_t key[SG_CRYPTO_KEY_MAX];
	uint8_t iv[SG_CRYPTO_NONCE_LEN];
	uint8_t aad[SG_CRYPTO_AAD_MAX];
	uint8_t pt[DATA_MAX];
	uint8_t ct[DATA_MAX];
	uint8_t tag[SG_CRYPTO_TAG_LEN];
	size_t key_len, aad_len, len;
};

static struct kat_buf kb[RTE_DIM(kats)];

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode hex into out; the tables are trusted, but a typo must not pass. */
size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s) / 2, i;

	CU_ASSERT_FATAL(strlen(s) % 2 == 0 && n <= max);
	for (i = 0; i < n; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

		CU_ASSERT_FATAL(hi >= 0 && lo >= 0);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}

/* Decode vector i into kb[i] and expand its key into keys[i]; the salt is
 * the first 4 bytes of the 12-byte IV (RFC 4106 §4). */
static void
kat_load(unsigned int i)
{
	const struct kat *v = &kats[i];
	struct kat_buf *b = &kb[i];

	memset(b, 0, sizeof(*b));
	b->key_len = unhex(v->key, b->key, sizeof(b->key));
	CU_ASSERT_FATAL(unhex(v->iv, b->iv, sizeof(b->iv)) == SG_CRYPTO_NONCE_LEN);
	b->aad_len = unhex(v->aad, b->aad, sizeof(b->aad));
	b->len = unhex(v->pt, b->pt, sizeof(b->pt));
	CU_ASSERT_FATAL(unhex(v->ct, b->ct, sizeof(b->ct)) == b->len);
	CU_ASSERT_FATAL(unhex(v->tag, b->tag, sizeof(b->tag)) == SG_CRYPTO_TAG_LEN);
	CU_ASSERT_FATAL(sg_crypto_key_init(&keys[i], mgr, v->aead, b->key,
			(unsigned int)b->key_len, b->iv) == 0);
}

/* Fill an op as ESP does: nonce = salt from the key || 8-byte IV. */
static void
op_fill(struct sg_crypto_op *op, const struct sg_crypto_key *k, uint8_t *data, uint32_t len,
		uint8_t *tag, const uint8_t *aad, size_t aad_len, const uint8_t *iv8)
{
	memset(op, 0, sizeof(*op));
	op->key = k;
	op->data = data;
	op->len = len;
	op->icv = tag;
	op->aad_len = (uint8_t)aad_len;
	memcpy(op->aad, aad, aad_len);
	memcpy(op->nonce, k->salt, SG_CRYPTO_SALT_LEN);
	memcpy(op->nonce + SG_CRYPTO_SALT_LEN, iv8, SG_CRYPTO_NONCE_LEN - SG_CRYPTO_SALT_LEN);
	op->status = 0xff;
}

/* Op j for vector i: encrypt takes the plaintext, decrypt the ciphertext. */
static void
kat_op(unsigned int i, unsigned int j, int enc)
{
	const struct kat_buf *b = &kb[i];

	memcpy(buf[j], enc ? b->pt : b->ct, b->len);
	memcpy(icv[j], enc ? (const uint8_t *)"" : b->tag, enc ? 0 : SG_CRYPTO_TAG_LEN);
	op_fill(&ops[j], &keys[i], buf[j], (uint32_t)b->len, icv[j], b->aad, b->aad_len,
			b->iv + SG_CRYPTO_SALT_LEN);
}

static void
kat_check_enc(unsigned int i, unsigned int j)
{
	int ok = ops[j].status == SG_CRYPTO_OK && memcmp(buf[j], kb[i].ct, kb[i].len) == 0 &&
			memcmp(icv[j], kb[i].tag, SG_CRYPTO_TAG_LEN) == 0;

	CU_ASSERT(ok);
	if (!ok)
		printf("\n  encrypt %s: wrong answer\n", kats[i].name);
}

static void
kat_check_dec(unsigned int i, unsigned int j)
{
	int ok = ops[j].status == SG_CRYPTO_OK && memcmp(buf[j], kb[i].pt, kb[i].len) == 0 &&
			memcmp(ops[j].tag, kb[i].tag, SG_CRYPTO_TAG_LEN) == 0;

	CU_ASSERT(ok);
	if (!ok)
		printf("\n  decrypt %s: wrong answer\n", kats[i].name);
}

static void
test_kat_encrypt(void)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(kats); i++) {
		kat_load(i);
		kat_op(i, 0, 1);
		CU_ASSERT_EQUAL(sg_crypto_encrypt_burst(mgr, ops, 1), 1);
		kat_check_enc(i, 0);
	}
}

static void
test_kat_decrypt(void)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(kats); i++) {
		kat_load(i);
		kat_op(i, 0, 0);
		CU_ASSERT_EQUAL(sg_crypto_decrypt_burst(mgr, ops, 1), 1);
		kat_check_dec(i, 0);
	}
}

/* Every vector in one burst, each with its own key, both directions. */
static void
test_kat_one_burst(void)
{
	const uint16_t n = (uint16_t)RTE_DIM(kats);
	unsigned int i;

	RTE_BUILD_BUG_ON(RTE_DIM(kats) > SG_CRYPTO_BURST_MAX || RTE_DIM(kats) > N_KEYS);
	for (i = 0; i < n; i++) {
		kat_load(i);
		kat_op(i, i, 1);
	}
	CU_ASSERT_EQUAL(sg_crypto_encrypt_burst(mgr, ops, n), n);
	for (i = 0; i < n; i++)
		kat_check_enc(i, i);
	for (i = 0; i < n; i++)
		kat_op(i, i, 0);
	CU_ASSERT_EQUAL(sg_crypto_decrypt_burst(mgr, ops, n), n);
	for (i = 0; i < n; i++)
		kat_check_dec(i, i);
}

enum tamper { T_CT, T_TAG, T_AAD, T_AAD_LEN, T_NONCE, T_MAX };

/* Change one authenticated input of a decrypt op (RFC 4106 §5: the ICV
 * covers the ciphertext and the SPI/sequence number AAD). */
static int
tamper(struct sg_crypto_op *op, enum tamper t, unsigned int bit)
{
	switch (t) {
	case T_CT:
		if (op->len == 0)
			return -1;
		op->data[(bit / 8) % op->len] ^= (uint8_t)(1 << bit % 8);
		return 0;
	case T_TAG:
		op->icv[(bit / 8) % SG_CRYPTO_TAG_LEN] ^= (uint8_t)(1 << bit % 8);
		return 0;
	case T_AAD:
		if (op->aad_len == 0)
			return -1;
		op->aad[(bit / 8) % op->aad_len] ^= (uint8_t)(1 << bit % 8);
		return 0;
	case T_AAD_LEN:
		/* 8 vs 12 bytes: a peer that disagrees on ESN must fail. */
		op->aad_len = op->aad_len == 12 ? 8 : 12;
		return 0;
	case T_NONCE:
		op->nonce[(bit / 8) % SG_CRYPTO_NONCE_LEN] ^= (uint8_t)(1 << bit % 8);
		return 0;
	default:
		return -1;
	}
}

static void
test_kat_tampered(void)
{
	unsigned int i, t, bit, tested = 0;

	for (i = 0; i < RTE_DIM(kats); i++) {
		kat_load(i);
		for (t = 0; t < T_MAX; t++) {
			for (bit = 0; bit < 128; bit += 37) {
				kat_op(i, 0, 0);
				if (tamper(&ops[0], (enum tamper)t, bit) != 0)
					continue;
				tested++;
				CU_ASSERT_EQUAL(sg_crypto_decrypt_burst(mgr, ops, 1), 0);
				CU_ASSERT_EQUAL(ops[0].status, SG_CRYPTO_AUTH_FAILED);
			}
		}
	}
	CU_ASSERT(tested > RTE_DIM(kats) * 3);
}

/* Input byte i of the generated vectors' buffers (see struct gen). */
static void
gen_inputs(const struct gen *g, uint8_t *key, uint8_t *nonce, uint8_t *aad, uint8_t *p)
{
	uint32_t i;

	for (i = 0; i < SG_CRYPTO_KEY_MAX; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < SG_CRYPTO_NONCE_LEN; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < g->aad_len; i++)
		aad[i] = (uint8_t)(0x10 + i);
	for (i = 0; i < g->len; i++)
		p[i] = (uint8_t)(i * 13 + 5);
}

static void
test_generated(void)
{
	uint8_t key[SG_CRYPTO_KEY_MAX], nonce[SG_CRYPTO_NONCE_LEN], aad[SG_CRYPTO_AAD_MAX];
	uint8_t head[16], tail[16], tag[SG_CRYPTO_TAG_LEN];
	const uint16_t n = (uint16_t)RTE_DIM(gens);
	unsigned int i;
	size_t hl, tl;

	for (i = 0; i < n; i++) {
		const struct gen *g = &gens[i];

		gen_inputs(g, key, nonce, aad, pt[i]);
		CU_ASSERT_FATAL(sg_crypto_key_init(&keys[i], mgr, g->aead, key,
				sg_crypto_key_len(g->aead), nonce) == 0);
		memcpy(buf[i], pt[i], g->len);
		op_fill(&ops[i], &keys[i], buf[i], g->len, icv[i], aad, g->aad_len,
				nonce + SG_CRYPTO_SALT_LEN);
	}
	CU_ASSERT_EQUAL(sg_crypto_encrypt_burst(mgr, ops, n), n);
	for (i = 0; i < n; i++) {
		const struct gen *g = &gens[i];

		hl = unhex(g->ct_head, head, sizeof(head));
		tl = unhex(g->ct_tail, tail, sizeof(tail));
		CU_ASSERT_FATAL(unhex(g->tag, tag, sizeof(tag)) == sizeof(tag));
		CU_ASSERT_EQUAL(hl, RTE_MIN(g->len, 16u));
		CU_ASSERT_EQUAL(tl, RTE_MIN(g->len, 16u));
		CU_ASSERT_EQUAL(ops[i].status, SG_CRYPTO_OK);
		CU_ASSERT(memcmp(buf[i], head, hl) == 0);
		CU_ASSERT(memcmp(buf[i] + g->len - tl, tail, tl) == 0);
		CU_ASSERT(memcmp(icv[i], tag, sizeof(tag)) == 0);
	}
	/* And back: the same ops, now on the ciphertext. */
	CU_ASSERT_EQUAL(sg_crypto_decrypt_burst(mgr, ops, n), n);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(ops[i].status, SG_CRYPTO_OK);
		CU_ASSERT(memcmp(buf[i], pt[i], gens[i].len) == 0);
	}
}

/* xorshift32: a fixed, reproducible stream of test data. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Op i of a mixed burst: AES-128 and AES-256 keys, 0, 8 or 12 bytes of AAD,
 * lengths from empty to a full 1500-byte frame.
 */
static void
mixed_op(unsigned int i, uint32_t *seed)
{
	static const uint32_t lens[] = {0, 1, 1500, 15, 16, 17, 63, 64, 65, 255, 256, 1024, 1499};
	static const uint8_t aad_lens[] = {8, 12, 0};
	uint8_t aad[SG_CRYPTO_AAD_MAX], iv8[8];
	uint32_t len = lens[i % RTE_DIM(lens)], j;

	for (j = 0; j < len; j++)
		pt[i][j] = (uint8_t)rnd(seed);
	for (j = 0; j < sizeof(aad); j++)
		aad[j] = (uint8_t)rnd(seed);
	for (j = 0; j < sizeof(iv8); j++)
		iv8[j] = (uint8_t)rnd(seed);
	memcpy(buf[i], pt[i], len);
	op_fill(&ops[i], &keys[i % 4], buf[i], len, icv[i], aad, aad_lens[i % RTE_DIM(aad_lens)],
			iv8);
}

/* Keys 0..3: AES-128, AES-256, ChaCha20-Poly1305, AES-192, all different:
 * a burst of them takes every group of crypto.c's. */
static void
mixed_keys(uint32_t *seed)
{
	static const enum sg_cipher algs[4] = {SG_AEAD_AES128_GCM, SG_AEAD_AES256_GCM,
		SG_AEAD_CHACHA20_POLY1305, SG_AEAD_AES192_GCM};
	uint8_t key[SG_CRYPTO_KEY_MAX], salt[SG_CRYPTO_SALT_LEN];
	unsigned int i, j;

	for (i = 0; i < 4; i++) {
		enum sg_cipher a = algs[i];

		for (j = 0; j < sizeof(key); j++)
			key[j] = (uint8_t)rnd(seed);
		for (j = 0; j < sizeof(salt); j++)
			salt[j] = (uint8_t)rnd(seed);
		CU_ASSERT_FATAL(sg_crypto_key_init(&keys[i], mgr, a, key, sg_crypto_key_len(a),
				salt) == 0);
	}
}

/*
 * 40 mixed ops in one burst give the same answers as one at a time; then
 * a decrypt burst with some tampered ops counts and flags exactly those.
 */
static void
test_mixed_burst(void)
{
	uint32_t seed = 0x5eed1234;
	int bad[N_MIXED];
	unsigned int i, n_good = 0;

	RTE_BUILD_BUG_ON(N_MIXED > SG_CRYPTO_BURST_MAX);
	mixed_keys(&seed);
	for (i = 0; i < N_MIXED; i++) {
		uint32_t s = seed + i;

		mixed_op(i, &s);
		CU_ASSERT_EQUAL_FATAL(sg_crypto_encrypt_burst(mgr, &ops[i], 1), 1);
		memcpy(ref_ct[i], buf[i], ops[i].len);
		memcpy(ref_tag[i], icv[i], SG_CRYPTO_TAG_LEN);
	}
	for (i = 0; i < N_MIXED; i++) {
		uint32_t s = seed + i;

		mixed_op(i, &s);
	}
	CU_ASSERT_EQUAL(sg_crypto_encrypt_burst(mgr, ops, N_MIXED), N_MIXED);
	for (i = 0; i < N_MIXED; i++) {
		CU_ASSERT_EQUAL(ops[i].status, SG_CRYPTO_OK);
		CU_ASSERT(memcmp(buf[i], ref_ct[i], ops[i].len) == 0);
		CU_ASSERT(memcmp(icv[i], ref_tag[i], SG_CRYPTO_TAG_LEN) == 0);
		/* Some change; an empty or 1-byte op may match by chance only. */
		if (ops[i].len >= 16)
			CU_ASSERT(memcmp(buf[i], pt[i], ops[i].len) != 0);
	}

	/* Decrypt the ciphertext in place, with every third op tampered. */
	for (i = 0; i < N_MIXED; i++) {
		bad[i] = 0;
		if (i % 3 == 1) {
			enum tamper t = (enum tamper)((i / 3) % T_MAX);

			if (tamper(&ops[i], t, i * 11) != 0)
				tamper(&ops[i], T_TAG, i * 11);
			bad[i] = 1;
		}
		ops[i].status = 0xff;
		n_good += !bad[i];
	}
	CU_ASSERT_EQUAL(sg_crypto_decrypt_burst(mgr, ops, N_MIXED), n_good);
	for (i = 0; i < N_MIXED; i++) {
		if (bad[i]) {
			CU_ASSERT_EQUAL(ops[i].status, SG_CRYPTO_AUTH_FAILED);
		} else {
			CU_ASSERT_EQUAL(ops[i].status, SG_CRYPTO_OK);
			CU_ASSERT(memcmp(buf[i], pt[i], ops[i].len) == 0);
			CU_ASSERT(memcmp(ops[i].tag, icv[i], SG_CRYPTO_TAG_LEN) == 0);
		}
	}
}

/* Bursts of every size up to the maximum, back to back on one manager:
 * the manager's job ring wraps many times and must keep the ops apart. */
static void
test_burst_sizes(void)
{
	uint32_t seed = 0xb0a710ad;
	unsigned int i;
	uint16_t n;

	mixed_keys(&seed);
	CU_ASSERT_EQUAL(sg_crypto_encrypt_burst(mgr, ops, 0), 0);
	CU_ASSERT_EQUAL(sg_crypto_decrypt_burst(mgr, ops, 0), 0);
	for (n = 1; n <= SG_CRYPTO_BURST_MAX; n++) {
		for (i = 0; i < n; i++) {
			uint32_t s = seed + i * 7919 + n;

			mixed_op(i, &s);
		}
		CU_ASSERT_EQUAL_FATAL(sg_crypto_encrypt_burst(mgr, ops, n), n);
		CU_ASSERT_EQUAL_FATAL(sg_crypto_decrypt_burst(mgr, ops, n), n);
		for (i = 0; i < n; i++)
			CU_ASSERT_FATAL(memcmp(buf[i], pt[i], ops[i].len) == 0);
	}
}

static void
test_key_init_rejects(void)
{
	static const unsigned int lens[] = {0, 1, 15, 17, 24, 31, 33, 64};
	uint8_t key[64] = {0}, salt[SG_CRYPTO_SALT_LEN] = {0};
	struct sg_crypto_key *k = &keys[0];
	unsigned int i;

	for (i = 0; i < RTE_DIM(lens); i++) {
		CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES128_GCM, key, lens[i], salt),
				-EINVAL);
		CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES256_GCM, key, lens[i], salt),
				-EINVAL);
	}
	/* Each algorithm takes only its own length. */
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES128_GCM, key, 32, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES256_GCM, key, 16, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_CIPHER_MAX, key, 16, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, (enum sg_cipher)-1, key, 16, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, (enum sg_cipher)77, key, 32, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(NULL, mgr, SG_AEAD_AES128_GCM, key, 16, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, NULL, SG_AEAD_AES128_GCM, key, 16, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES128_GCM, NULL, 16, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES128_GCM, key, 16, NULL), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES192_GCM, key, 16, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES192_GCM, key, 32, salt), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_CHACHA20_POLY1305, key, 16, salt),
			-EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_CHACHA20_POLY1305, key, 24, salt),
			-EINVAL);
	/* The right lengths are accepted. */
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES128_GCM, key, 16, salt), 0);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES256_GCM, key, 32, salt), 0);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES192_GCM, key, 24, salt), 0);
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, mgr, SG_AEAD_CHACHA20_POLY1305, key, 32, salt), 0);
}

static void
test_key_wipe(void)
{
	uint8_t key[SG_CRYPTO_KEY_MAX], salt[SG_CRYPTO_SALT_LEN] = {1, 2, 3, 4};
	struct sg_crypto_key *k = &keys[0];

	memset(key, 0x5a, sizeof(key));
	CU_ASSERT_FATAL(sg_crypto_key_init(k, mgr, SG_AEAD_AES256_GCM, key, 32, salt) == 0);
	CU_ASSERT(!sg_all_zero(&k->gcm, sizeof(k->gcm)));
	CU_ASSERT(memcmp(k->salt, salt, sizeof(salt)) == 0);
	CU_ASSERT_EQUAL(k->key_len, 32);
	CU_ASSERT_EQUAL(k->cipher, SG_AEAD_AES256_GCM);
	sg_crypto_key_wipe(k);
	CU_ASSERT(sg_all_zero(k, sizeof(*k)));
	/* ChaCha20's key is kept as is: gone after the wipe too */
	CU_ASSERT_FATAL(sg_crypto_key_init(k, mgr, SG_AEAD_CHACHA20_POLY1305, key, 32, salt) == 0);
	CU_ASSERT(memcmp(k->raw, key, 32) == 0);
	sg_crypto_key_wipe(k);
	CU_ASSERT(sg_all_zero(k, sizeof(*k)));
	sg_crypto_key_wipe(NULL);
}

static void
test_names(void)
{
	static const char *const known[] = {"no-aesni", "sse", "avx", "avx2", "avx512"};
	const char *arch = sg_crypto_mgr_arch(mgr);
	unsigned int i, found = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(arch);
	for (i = 0; i < RTE_DIM(known); i++)
		found |= strcmp(arch, known[i]) == 0;
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(sg_crypto_key_len(SG_AEAD_AES128_GCM), 16);
	CU_ASSERT_EQUAL(sg_crypto_key_len(SG_AEAD_AES256_GCM), 32);
	CU_ASSERT_EQUAL(sg_crypto_key_len(SG_CIPHER_MAX), 0);
	CU_ASSERT_STRING_EQUAL(sg_crypto_cipher_name(SG_AEAD_AES128_GCM), "aes-128-gcm");
	CU_ASSERT_STRING_EQUAL(sg_crypto_cipher_name(SG_AEAD_AES256_GCM), "aes-256-gcm");
	CU_ASSERT_EQUAL(sg_crypto_key_len(SG_AEAD_AES192_GCM), 24);
	CU_ASSERT_EQUAL(sg_crypto_key_len(SG_AEAD_CHACHA20_POLY1305), 32);
	/* ipsec-secgw's spellings */
	CU_ASSERT_STRING_EQUAL(sg_crypto_cipher_name(SG_AEAD_AES192_GCM), "aes-192-gcm");
	CU_ASSERT_STRING_EQUAL(sg_crypto_cipher_name(SG_AEAD_CHACHA20_POLY1305), "chacha20-poly1305");
	CU_ASSERT_PTR_NULL(sg_crypto_cipher_name(SG_CIPHER_MAX));
	sg_crypto_mgr_free(NULL);
}

IMB_MGR *
test_crypto_mgr(void)
{
	return mgr;
}

static int
suite_init(void)
{
	mgr = sg_crypto_mgr_create(SOCKET_ID_ANY);
	if (mgr == NULL)
		return -1;
	keys = rte_zmalloc("test_keys", N_KEYS * sizeof(*keys), RTE_CACHE_LINE_SIZE);
	if (keys == NULL) {
		sg_crypto_mgr_free(mgr);
		return -1;
	}
	printf("\n  ipsec-mb %s, arch %s\n", imb_get_version_str(), sg_crypto_mgr_arch(mgr));
	return 0;
}

static int
suite_fini(void)
{
	unsigned int i;

	for (i = 0; i < N_KEYS; i++)
		sg_crypto_key_wipe(&keys[i]);
	rte_free(keys);
	test_esp_fini();
	sg_crypto_mgr_free(mgr);
	return 0;
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"names and arch", test_names},
		{"KAT encrypt", test_kat_encrypt},
		{"KAT decrypt", test_kat_decrypt},
		{"KAT all in one burst", test_kat_one_burst},
		{"KAT tampered ct/tag/aad/nonce", test_kat_tampered},
		{"generated 0/1/1500 bytes", test_generated},
		{"mixed burst of 40", test_mixed_burst},
		{"burst sizes 1..64", test_burst_sizes},
		{"key_init rejects", test_key_init_rejects},
		{"key_wipe", test_key_wipe},
		{"ESP transforms: names and sizes", test_esp_names},
		{"ESP KAT: CBC+HMAC, GMAC, GCM, ChaCha20, ESN", test_esp_kat},
		{"ESP: one burst of every transform", test_esp_mixed},
		{"ESP: any change fails the ICV", test_esp_tampered},
		{"ESP: CBC/GMAC keys checked and wiped", test_esp_keys},
	};
	CU_pSuite s;
	unsigned int i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	s = CU_add_suite("crypto", suite_init, suite_fini);
	if (s == NULL)
		goto fail;
	for (i = 0; i < RTE_DIM(tests); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	if (sg_test_eal_init("crypto") != 0) {
		CU_cleanup_registry();
		return EXIT_FAILURE;
	}
	return sg_test_run("crypto", 1);

fail:
	CU_cleanup_registry();
	return CU_get_error();
}
