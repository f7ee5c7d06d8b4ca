// The account page: mark the row of this phone's own device key, so it is not revoked by mistake.

import { deviceFor, pageUser } from "./device.js";

async function markThisDevice() {
  const user = pageUser();
  if (!user) return;
  const device = await deviceFor(user.id).catch(() => null);
  if (!device) return;
  for (const row of document.querySelectorAll("[data-device-id]")) {
    if (row.dataset.deviceId === device.device_id) {
      const badge = row.querySelector("[data-this-device]");
      if (badge) badge.hidden = false;
    }
  }
}

markThisDevice();
