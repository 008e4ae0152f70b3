// The room page: reads its own WebSocket, opens each envelope, decodes the protobuf frame and
// renders it. Nothing here is reachable from window.
import { liveroom } from './gen/room.js';
import { openEnvelope } from './envelope.js';

const list = document.getElementById('messages');

function render(frame) {
  const li = document.createElement('li');
  if (frame.chat) li.textContent = `${frame.chat.user.nickname}: ${frame.chat.content}`;
  else if (frame.gift) li.textContent = `${frame.gift.user.nickname} sent ${frame.gift.count} × ${frame.gift.giftName}`;
  list.prepend(li);
  while (list.children.length > 50) list.lastChild.remove();
}

const socket = new WebSocket(`${location.origin.replace('http', 'ws')}/stream`);
socket.binaryType = 'arraybuffer';
socket.onmessage = async (event) => {
  const plain = await openEnvelope(new Uint8Array(event.data));
  const frame = liveroom.Frame.toObject(liveroom.Frame.decode(plain), { longs: String, defaults: true });
  render(frame);
};
