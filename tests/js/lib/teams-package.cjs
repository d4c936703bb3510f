"use strict";
// A Teams app package as the Developer Portal makes one: a zip holding manifest.json and its
// icons, built here with stored (uncompressed) entries so the suites need no zip library. This
// is what Graph's POST /appCatalogs/teamsApps takes (Content-Type: application/zip).

// CRC-32 (IEEE), as the zip format wants it.
const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const nameBytes = Buffer.from(name, "utf8");
    const data = Buffer.from(content);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

// A package for the app `externalId` (the manifest's id, a GUID) at `version`.
function teamsPackage(externalId, version, name) {
  const manifest = {
    $schema: "https://developer.microsoft.com/json-schemas/teams/v1.16/MicrosoftTeams.schema.json",
    manifestVersion: "1.16",
    id: externalId,
    version,
    packageName: "com.contoso.tasks",
    developer: { name: "Contoso", websiteUrl: "https://contoso.example", privacyUrl: "https://contoso.example/p", termsOfUseUrl: "https://contoso.example/t" },
    name: { short: name, full: `${name} for Contoso` },
    description: { short: "Track tasks in chats", full: "Track your team's tasks without leaving the chat." },
    icons: { color: "color.png", outline: "outline.png" },
    accentColor: "#FFFFFF",
  };
  return zip({ "manifest.json": JSON.stringify(manifest, null, 2), "color.png": "\x89PNG not really", "outline.png": "\x89PNG not really" });
}

module.exports = { teamsPackage, crc32 };
