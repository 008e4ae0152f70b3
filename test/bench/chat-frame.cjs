/**
 * The bench's real-size payload: a decoded live-stream push frame, shaped like protobuf.js's
 * toObject() output on a real site (docs/performance.md): 22 chat and gift messages with nested
 * users, images and counters; strings (some non-ASCII), numbers, int64 fields as Long objects (the
 * `long` package's shape: own low/high/unsigned, `__isLong__` on the prototype) and small byte
 * fields as Uint8Array. About 40 KB as JSON.
 *
 * chatFrame(bytes, false): what the page's decoder returns (pagecall registers it with
 * `{ longs: 'string' }`, so the codec writes int64 as decimal strings and bytes as `$bytes`).
 * chatFrame(bytes, true): the same object already in that JSON shape, for the reference forwarder,
 * which carries it with JSON.stringify/JSON.parse only. Both leave as the same JSON text.
 *
 * Loaded by bench-page.html (a plain script) and by Node (module.exports) for the checks.
 */
class Long {
  constructor(low, high, unsigned) { this.low = low | 0; this.high = high | 0; this.unsigned = !!unsigned; }
  toString() { return String((BigInt(this.high) << 32n) + BigInt(this.low >>> 0)); }
}
Object.defineProperty(Long.prototype, '__isLong__', { value: true });
function b64(bytes) { let s = ''; for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]); return btoa(s); }
function chatFrame(bytes, plain) {
  const long = plain ? (lo, hi) => new Long(lo, hi, false).toString() : (lo, hi) => new Long(lo, hi, false);
  const blob = plain ? (b) => ({ $bytes: b64(b) }) : (b) => b;
  const seed = bytes.length ? bytes[0] + bytes[bytes.length >> 1] * 7 + bytes[bytes.length - 1] * 13 : 0;
  const messages = [];
  for (let i = 0; i < 22; i++) {
    const uid = 0x6a3f0000 + seed * 97 + i;
    const at = 1764547200 + i;
    messages.push({
      method: i % 5 === 0 ? 'WebcastGiftMessage' : 'WebcastChatMessage',
      payload: blob(bytes.subarray(i * 16, i * 16 + 24)),
      msgId: long(0x2b000000 + i * 131 + seed, 0x1a2b3c),
      msgType: 0,
      offset: long(i * 4096, 0),
      needWrdsStore: false,
      wrdsVersion: long(0x3e8 + i, 0x17),
      common: {
        method: 'WebcastChatMessage', msgId: long(0x2b000000 + i * 131 + seed, 0x1a2b3c), roomId: long(0x5ee71000, 0x1b9c), createTime: long(at * 1000 % 0x7fffffff, 0x18c),
        isShowMsg: true, describe: `{0:user} says something about the stream, message ${i}`, foldType: long(0, 0), anchorFoldType: long(0, 0), priorityScore: long(i * 10, 0), logId: `2026120112${String(seed).padStart(6, '0')}${i}`, msgProcessFilterK: '', msgProcessFilterV: '',
      },
      user: {
        id: long(uid, 0x1c), shortId: long(uid + 7, 0), nickName: `viewer_${seed}_${i} 🎉`, gender: i % 3, signature: 'live every night · 每晚直播', level: 12 + (i % 30),
        avatarThumb: { urlList: [`https://p3.cdn.example.com/aweme/100x100/${uid.toString(16)}.webp?from=4010531038`, `https://p6.cdn.example.com/aweme/100x100/${uid.toString(16)}.jpeg?from=4010531038`], uri: `aweme-avatar/${uid.toString(16)}`, height: long(100, 0), width: long(100, 0), avgColor: '#5C4A3B', imageType: 1, openWebUrl: '', isAnimated: false },
        badgeImageList: [{ urlList: ['https://p3.cdn.example.com/webcast/fansclub_level_v6_12.png~tplv-obj.image'], uri: 'webcast/fansclub_level_v6_12.png', height: long(16, 0), width: long(32, 0), imageType: 51, content: { name: 'fans', fontColor: '#FFFFFF', level: long(12, 0), alternativeText: 'Fans club level 12' } }],
        followInfo: { followingCount: long(103 + i, 0), followerCount: long(20480 + i * 3, 0), followStatus: long(i % 2, 0), pushStatus: long(0, 0) },
        payGrade: { level: long(8, 0), newImIconWithLevel: { urlList: [], uri: '', height: long(0, 0), width: long(0, 0) }, gradeDescribe: 'level 8', upgradeNeedConsume: long(1200, 0) },
        idStr: String(uid), secUid: `MS4wLjABAAAA${seed.toString(36)}${i}zQvXk8yqHh2d9b3nT1Lr0aPj5sWcEeUoFgYiZmNx`, displayId: `viewer${seed}${i}`,
      },
      content: i % 5 === 0 ? '' : `message ${i}: 主播好厉害 nice stream!!! ${'ha'.repeat(i % 7)}`,
      visibleToSender: true, fullScreenTextColor: '', publicAreaCommon: { userLabel: { urlList: [], uri: '' }, userConsumeInRoom: long(i * 10, 0), userSendGiftCntInRoom: long(i, 0) },
      giftId: i % 5 === 0 ? long(5655, 0) : undefined, repeatCount: i % 5 === 0 ? long(1 + (i % 9), 0) : undefined,
    });
  }
  return {
    messages,
    cursor: `t-${1764547200123 + seed}_r-1_d-1_u-1_h-7412${seed}`,
    fetchInterval: long(1000, 0), now: long(0x9c5c1b00 | 0, 0x19a), internalExt: `internal_src:dim|wss_push_room_id:7412${seed}|wss_push_did:7312${seed}|first_req_ms:1764547200000|fetch_time:1764547200123|seq:1|wss_info:0-1764547200123-0-0`,
    fetchType: 0, routeParams: { imprp: `${seed}` }, heartbeatDuration: long(10000, 0), needAck: true, pushServer: 'wss://webcast5-ws-web-lf.example.com/webcast/im/push/v2/', liveCursor: '', historyNoMore: false,
  };
}
if (typeof module !== 'undefined') module.exports = { chatFrame, Long };

