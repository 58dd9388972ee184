// Photos are shrunk on the phone before they wait in the outbox or cross a weak network:
// longest side 1600 px, JPEG quality stepped down until the file is about 300 KB.
import { currentToken } from './api.js';

const TARGET_BYTES = 300 * 1024;
const MAX_SIDE = 1600;

export async function compress(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  let blob = null;
  for (const quality of [0.82, 0.7, 0.6, 0.5, 0.4]) {
    blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (blob.size <= TARGET_BYTES) break;
  }
  return blob;
}

// A stored photo as an object URL: the content endpoint wants the token, which <img> cannot send.
export async function photoUrl(id) {
  const response = await fetch(`/api/v1/attachments/${id}/content`, { headers: { Authorization: 'Bearer ' + currentToken() } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}
