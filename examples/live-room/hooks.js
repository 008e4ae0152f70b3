// Hook script for the live room: runs in the page before its own scripts (via `pagecall open
// --script` or launch({scripts})). The decoder lives in a minified webpack bundle, inside module
// closures, not on window. It is found once, the first time it is needed: a call (or a frame) that
// comes before the bundle has run waits for it.
let openEnvelope;
let Frame;

async function decodeFrame(bytes, signal) {
  const { webpack } = pagecall;
  // The envelope opener is minified; the strings it uses are not.
  openEnvelope ??= await webpack.waitFor({ code: ['AES-GCM', 'decrypt'] }, { signal });
  // Generated protobuf classes keep their names: `liveroom.Frame` is found by its key.
  Frame ??= await webpack.waitFor({ export: 'Frame' }, { signal });
  const plain = await openEnvelope(bytes);
  return Frame.toObject(Frame.decode(plain), { longs: String, defaults: true });
}

// Way 1, calls: a scraper sends each sealed frame it got from its own connection to the site, and
// the page decodes it.
pagecall.register('decode', async function (bytes) {
  return decodeFrame(bytes, this.signal);
});

// Way 2, a stream: the page's own socket to the room is tapped. Every frame the page receives is
// decoded by the same code and its chat lines are published to the topic "chat"; subscribers read
// them with GET /v1/stream, `pagecall watch live-room chat` or a client's stream(). No second
// connection to the site, and the page's own handler still gets every frame as before.
pagecall.tap.websocket(/\/stream$/, {
  topic: 'chat',
  decode: async (data) => {
    const frame = await decodeFrame(new Uint8Array(data));
    // Gifts are not chat: returning undefined publishes nothing for this frame.
    if (!frame.chat) return undefined;
    return { seq: frame.seq, user: frame.chat.user.nickname, text: frame.chat.content, sentAtMs: frame.sentAtMs };
  },
});
