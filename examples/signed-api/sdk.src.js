// The signed-API site's client SDK, before the build minifies it into what the page loads. The
// server refuses requests whose x-sign header is not this function of the secret, the path, a
// timestamp and a one-time nonce. The secret is assembled at run time, inside the instance.
(function () {
  const seed = [0x37, 0x20, 0x6d, 0x2a, 0x75, 0x3f, 0x24, 0x60, 0x70, 0x2e, 0x33, 0x79, 0x6c, 0x3b, 0x21, 0x2f];
  function mix(text) {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ ((c + i) & 0xff), 0x5bd1e995) >>> 0;
      h2 = (h2 ^ (h2 >>> 13)) >>> 0;
    }
    return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
  }
  class Client {
    constructor() {
      this._secret = seed.map((b, i) => String.fromCharCode(b ^ (0x42 + i))).join('');
    }
    sign(path) {
      const ts = Date.now();
      const nonce = Math.random().toString(36).slice(2, 12);
      return { ts, nonce, sign: mix(`${this._secret}|${path}|${ts}|${nonce}`) };
    }
    async getJson(path) {
      const { ts, nonce, sign } = this.sign(path);
      const res = await fetch(path, { headers: { 'x-ts': String(ts), 'x-nonce': nonce, 'x-sign': sign } });
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      return res.json();
    }
  }
  window.SDK = { Client };
})();
