-- netoops.lua: a Wireshark dissector for the netoops wire protocol, versions 1 and 2
-- (PROTOCOL.md).
--
-- One netoops packet is one UDP payload: a header (PROTOCOL.md section 2) and whole records
-- (sections 3 and 4). Version 2 (section 12) adds LOG_ZCHUNK records (compressed log pieces),
-- PARITY packets (a parity shard after the header) and sealed packets (XChaCha20-Poly1305: the
-- header and nonce are shown, the body stays encrypted; there is no decryption here). The
-- dissector is registered on UDP port 6667 (preference "UDP port") and as a heuristic dissector
-- on UDP that takes any payload starting with the magic "NtOp".
--
-- Install: copy this file into Wireshark's personal Lua plugins folder (`tshark -G folders`,
-- "Personal Lua Plugins", e.g. ~/.local/lib/wireshark/plugins/), or load it for one run with
-- `wireshark -X lua_script:netoops.lua` / `tshark -X lua_script:netoops.lua`.
--
-- Malformed input never raises a Lua error: every check of PROTOCOL.md section 6 that fails
-- adds expert info, and the bytes are still shown as far as they go. Filter on
-- `netoops.expert` fields (or `_ws.expert.group == "Malformed"`) to find such packets.

-- bit32 in Lua 5.2 builds of Wireshark; LuaBitOp's bit where bit32 is missing.
local bitops = bit32 or bit
local band, bxor, lshift, rshift = bitops.band, bitops.bxor, bitops.lshift, bitops.rshift

local netoops = Proto("netoops", "netoops crash dump")

local MAGIC = "NtOp"
local DEFAULT_PORT = 6667
local PACKET_TYPE_DATA = 1
local PACKET_TYPE_PARITY = 2
local V1_HEADER_LEN = 48
local SEALED_HEADER_LEN = 72 -- version 2: the 48-byte header, then the 24-byte nonce
local SALT_LEN = 16
local TAG_LEN = 16
local FLAG_SEALED = 0x02
local MAX_PARITY_ROWS = 64 -- parity packets of one dump
local MAX_PARITY_DATA = 128 -- the parity protects the first min(count, 128) data packets
local SHARD_PREFIX_LEN = 2
local PIECE_LEN = 65536 -- the largest uncompressed piece of a version-2 log
local RECORD_HEADER_LEN = 4
local WALL_NSEC_LIMIT = 1000000000
local MAX_REGS_PAYLOAD = 384

------------------------------------------------------------------------------------------------
-- Value names
------------------------------------------------------------------------------------------------

local PACKET_TYPES = { [1] = "DATA", [2] = "PARITY" }
local REASONS = { [1] = "OOPS", [2] = "PANIC", [3] = "SOFT", [4] = "EMERG" }
local REGS_SOURCES = { [0] = "none", [1] = "FAULT", [2] = "PANIC_CPU", [3] = "SYSRQ_CPU" }
local REGS_ARCHS = { [1] = "x86_64" }
local CRC_STATUS_BAD, CRC_STATUS_GOOD, CRC_STATUS_UNVERIFIED = 0, 1, 2
local CRC_STATUS_NOT_PRESENT = 3 -- version 2 sealed packets: crc32c is 0, the tag authenticates
local CRC_STATUS = { [0] = "Bad", [1] = "Good", [2] = "Unverified", [3] = "Not present (sealed)" }

-- x86_64 struct pt_regs, in the kernel's order (PROTOCOL.md, REGS).
local X86_64_REGS = {
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx",
    "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss",
}
local X86_64_REG_LABELS = {
    bp = "RBP", bx = "RBX", ax = "RAX", cx = "RCX", dx = "RDX", si = "RSI", di = "RDI",
    orig_ax = "ORIG_RAX", ip = "RIP", cs = "CS", flags = "EFLAGS", sp = "RSP", ss = "SS",
}

-- The kernel's TAINT_* flags by bit number: the letter of the "Tainted:" line and the name.
local TAINT_FLAGS = {
    [0] = { "P", "PROPRIETARY_MODULE" }, { "F", "FORCED_MODULE" }, { "S", "CPU_OUT_OF_SPEC" },
    { "R", "FORCED_RMMOD" }, { "M", "MACHINE_CHECK" }, { "B", "BAD_PAGE" }, { "U", "USER" },
    { "D", "DIE" }, { "A", "OVERRIDDEN_ACPI_TABLE" }, { "W", "WARN" }, { "C", "CRAP" },
    { "I", "FIRMWARE_WORKAROUND" }, { "O", "OOT_MODULE" }, { "E", "UNSIGNED_MODULE" },
    { "L", "SOFTLOCKUP" }, { "K", "LIVEPATCH" }, { "X", "AUX" }, { "T", "RANDSTRUCT" },
    { "N", "TEST" },
}

------------------------------------------------------------------------------------------------
-- Fields
------------------------------------------------------------------------------------------------

local F = {
    -- header
    magic = ProtoField.string("netoops.magic", "Magic"),
    version = ProtoField.uint8("netoops.version", "Version"),
    packet_type = ProtoField.uint8("netoops.type", "Packet type", base.DEC, PACKET_TYPES),
    header_len = ProtoField.uint8("netoops.header_len", "Header length"),
    flags = ProtoField.uint8("netoops.flags", "Flags", base.HEX),
    parity_follows = ProtoField.bool("netoops.flags.parity_follows", "PARITY_FOLLOWS", 8, nil, 0x01),
    sealed = ProtoField.bool("netoops.flags.sealed", "SEALED", 8, nil, FLAG_SEALED),
    packet_len = ProtoField.uint16("netoops.packet_len", "Packet length"),
    reason = ProtoField.uint8("netoops.reason", "Reason", base.DEC, REASONS),
    reserved = ProtoField.bytes("netoops.reserved", "Reserved"),
    key_id = ProtoField.uint8("netoops.key_id", "Key ID"),
    crc32c = ProtoField.uint32("netoops.crc32c", "CRC32C", base.HEX),
    crc32c_status = ProtoField.uint8("netoops.crc32c.status", "CRC32C status", base.DEC, CRC_STATUS),
    boot_id = ProtoField.guid("netoops.boot_id", "Boot ID"),
    seq = ProtoField.uint32("netoops.seq", "Dump sequence number"),
    index = ProtoField.uint16("netoops.index", "Packet index"),
    count = ProtoField.uint16("netoops.count", "Packet count"),
    dump_len = ProtoField.uint32("netoops.dump_len", "Dump length"),
    packet_offset = ProtoField.uint32("netoops.packet_offset", "Packet offset"),
    header_extra = ProtoField.bytes("netoops.header_extra", "Header bytes after the known layout"),
    payload = ProtoField.bytes("netoops.payload", "Payload (not decoded)"),

    -- version 2: sealed packets and parity packets
    nonce = ProtoField.bytes("netoops.nonce", "Nonce"),
    nonce_salt = ProtoField.bytes("netoops.nonce.salt", "Salt"),
    nonce_counter = ProtoField.uint64("netoops.nonce.counter", "Counter"),
    sealed_body = ProtoField.bytes("netoops.sealed_body", "Sealed body (encrypted)"),
    tag = ProtoField.bytes("netoops.tag", "Poly1305 tag"),
    parity_row = ProtoField.uint16("netoops.parity.row", "Parity row"),
    parity_shard = ProtoField.bytes("netoops.parity.shard", "Parity shard"),
    trailing = ProtoField.bytes("netoops.trailing", "Bytes after packet_len"),

    -- every record
    record = ProtoField.none("netoops.record", "Record"),
    -- record_type: below, with the names of RECORD_TYPES
    record_length = ProtoField.uint16("netoops.record.length", "Length"),
    record_value = ProtoField.bytes("netoops.record.value", "Value"),
    record_extra = ProtoField.bytes("netoops.record.extra", "Value bytes after the known layout"),

    -- DUMP_INFO
    log_len = ProtoField.uint32("netoops.log_len", "Log length"),
    dump_flags = ProtoField.uint8("netoops.dump_flags", "Dump flags", base.HEX),
    log_truncated = ProtoField.bool("netoops.log_truncated", "LOG_TRUNCATED", 8, nil, 0x01),
    regs_source = ProtoField.uint8("netoops.regs_source", "Registers source", base.DEC, REGS_SOURCES),

    -- facts
    record_boot_id = ProtoField.guid("netoops.record.boot_id", "Boot ID"),
    uptime_ns = ProtoField.uint64("netoops.uptime_ns", "Uptime (ns)"),
    wall_sec = ProtoField.int64("netoops.wall_sec", "Wall clock seconds"),
    wall_nsec = ProtoField.uint32("netoops.wall_nsec", "Wall clock nanoseconds"),
    wall_time = ProtoField.absolute_time("netoops.wall_time", "Wall clock", base.UTC),
    taint = ProtoField.uint64("netoops.taint", "Taint", base.HEX),
    user_blob = ProtoField.bytes("netoops.user_blob", "User blob"),
    build_id = ProtoField.bytes("netoops.build_id", "Kernel build id"),
    kernel_release = ProtoField.string("netoops.kernel_release", "Kernel release"),
    kernel_version = ProtoField.string("netoops.kernel_version", "Kernel version"),
    hostname = ProtoField.string("netoops.hostname", "Hostname"),
    arch = ProtoField.string("netoops.arch", "Architecture"),
    cpu_vendor = ProtoField.string("netoops.cpu_vendor", "CPU vendor"),
    cpu_family = ProtoField.uint32("netoops.cpu.family", "CPU family"),
    cpu_model = ProtoField.uint32("netoops.cpu.model", "CPU model"),
    cpu_stepping = ProtoField.uint32("netoops.cpu.stepping", "CPU stepping"),
    cpu_microcode = ProtoField.uint32("netoops.cpu.microcode", "Microcode revision", base.HEX),
    dmi_bios_vendor = ProtoField.string("netoops.dmi.bios_vendor", "DMI BIOS vendor"),
    dmi_bios_version = ProtoField.string("netoops.dmi.bios_version", "DMI BIOS version"),
    dmi_bios_date = ProtoField.string("netoops.dmi.bios_date", "DMI BIOS date"),
    dmi_board_vendor = ProtoField.string("netoops.dmi.board_vendor", "DMI board vendor"),
    dmi_board_name = ProtoField.string("netoops.dmi.board_name", "DMI board name"),
    dmi_product_name = ProtoField.string("netoops.dmi.product_name", "DMI product name"),

    -- REGS
    regs_arch = ProtoField.uint16("netoops.regs.arch", "Architecture", base.DEC, REGS_ARCHS),
    regs_record_source = ProtoField.uint8("netoops.regs.source", "Source", base.DEC, REGS_SOURCES),
    regs_payload = ProtoField.bytes("netoops.regs.payload", "Register payload"),

    -- LOG_CHUNK
    log_offset = ProtoField.uint32("netoops.log.offset", "Log offset"),
    log_data = ProtoField.string("netoops.log.data", "Log data"),

    -- LOG_ZCHUNK (version 2)
    zchunk_piece_start = ProtoField.uint32("netoops.zchunk.piece_start", "Piece start (log offset)"),
    zchunk_piece_len = ProtoField.uint32("netoops.zchunk.piece_len", "Piece length"),
    zchunk_z_len = ProtoField.uint32("netoops.zchunk.z_len", "Compressed piece length"),
    zchunk_z_offset = ProtoField.uint32("netoops.zchunk.z_offset", "Offset in the compressed piece"),
    zchunk_data = ProtoField.bytes("netoops.zchunk.data",
        "Compressed data (raw DEFLATE of the reversed piece)"),
}

-- netoops.regs.r15 ... netoops.regs.ss
local REG_FIELDS = {}
for _, name in ipairs(X86_64_REGS) do
    local label = X86_64_REG_LABELS[name] or name:upper()
    REG_FIELDS[name] = ProtoField.uint64("netoops.regs." .. name, label, base.HEX)
    F["reg_" .. name] = REG_FIELDS[name]
end

------------------------------------------------------------------------------------------------
-- Expert info
------------------------------------------------------------------------------------------------

local function expert_field(abbr, text, group, severity)
    return ProtoExpert.new("netoops.expert." .. abbr, text, group, severity)
end

local E = {
    truncated = expert_field("truncated", "Truncated packet",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_magic = expert_field("bad_magic", "Bad magic",
        expert.group.MALFORMED, expert.severity.ERROR),
    unsupported_version = expert_field("unsupported_version", "Unsupported version",
        expert.group.UNDECODED, expert.severity.WARN),
    bad_header = expert_field("bad_header", "Malformed header",
        expert.group.MALFORMED, expert.severity.ERROR),
    trailing_bytes = expert_field("trailing_bytes", "Bytes after packet_len",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_crc = expert_field("bad_crc", "Bad CRC32C",
        expert.group.CHECKSUM, expert.severity.ERROR),
    not_data = expert_field("not_data", "Not a DATA packet",
        expert.group.UNDECODED, expert.severity.NOTE),
    bad_layout = expert_field("bad_layout", "Bad packet index or layout",
        expert.group.MALFORMED, expert.severity.ERROR),
    record_overrun = expert_field("record_overrun", "Record overruns the packet",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_record = expert_field("bad_record", "Malformed record",
        expert.group.MALFORMED, expert.severity.ERROR),
    unknown_critical = expert_field("unknown_critical", "Unknown critical record: the packet must be rejected",
        expert.group.MALFORMED, expert.severity.ERROR),
    unknown_record = expert_field("unknown_record", "Unknown record type, skipped",
        expert.group.UNDECODED, expert.severity.NOTE),
    bad_zchunk = expert_field("bad_zchunk", "Malformed LOG_ZCHUNK",
        expert.group.MALFORMED, expert.severity.ERROR),
    extra_bytes = expert_field("extra_bytes", "Bytes after the known layout (a later version's fields)",
        expert.group.PROTOCOL, expert.severity.CHAT),
}

------------------------------------------------------------------------------------------------
-- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven
------------------------------------------------------------------------------------------------

local CRC32C_TABLE = {}
for n = 0, 255 do
    local c = n
    for _ = 1, 8 do
        if band(c, 1) == 1 then
            c = bxor(rshift(c, 1), 0x82F63B78)
        else
            c = rshift(c, 1)
        end
    end
    CRC32C_TABLE[n] = c
end

local function crc32c_update(crc, s)
    for i = 1, #s do
        crc = bxor(rshift(crc, 8), CRC32C_TABLE[band(bxor(crc, s:byte(i)), 0xFF)])
    end
    return crc
end

-- The CRC of the first `len` bytes of `tvb` (len >= 16) with bytes 12..15 taken as zero.
local function packet_crc32c(tvb, len)
    local crc = 0xFFFFFFFF
    crc = crc32c_update(crc, tvb:raw(0, 12))
    crc = crc32c_update(crc, "\0\0\0\0")
    crc = crc32c_update(crc, tvb:raw(16, len - 16))
    crc = bxor(crc, 0xFFFFFFFF)
    if crc < 0 then -- LuaBitOp's results are signed
        crc = crc + 4294967296
    end
    return crc
end

------------------------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------------------------

local function hex_bytes(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- "6f1c2b7e-9a4d-4c3e-8b21-5d0f7a9e3c41" from the 16 raw bytes.
local function uuid_string(raw)
    local h = hex_bytes(raw)
    return string.format("%s-%s-%s-%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(13, 16),
        h:sub(17, 20), h:sub(21, 32))
end

local function name_or(names, value, what)
    return names[value] or string.format("%s %d", what, value)
end

-- Adds `text` as expert info `ef` to `item` and remembers it for the Info column.
local function problem(state, item, ef, text)
    item:add_proto_expert_info(ef, text)
    state.problems[#state.problems + 1] = text
end

------------------------------------------------------------------------------------------------
-- Record decoders: decode(tvb, off, len, tree, state) for the value at [off, off + len)
------------------------------------------------------------------------------------------------

local function decode_dump_info(tvb, off, _, tree, state)
    local log_len = tvb(off, 4):le_uint()
    tree:add_le(F.log_len, tvb(off, 4))
    local flags = tree:add(F.dump_flags, tvb(off + 4, 1))
    flags:add(F.log_truncated, tvb(off + 4, 1))
    local regs_source = tvb(off + 5, 1):uint()
    tree:add(F.regs_source, tvb(off + 5, 1))
    tree:add(F.reserved, tvb(off + 6, 2))
    if state.dump_info == nil then
        state.dump_info = { log_len = log_len, regs_source = regs_source }
    end
    local truncated = band(tvb(off + 4, 1):uint(), 1) == 1
    tree:append_text(string.format(": log %d bytes%s, registers %s", log_len,
        truncated and " (truncated)" or "", name_or(REGS_SOURCES, regs_source, "source")))
end

local function decode_boot_id(tvb, off, _, tree, state)
    local item = tree:add(F.record_boot_id, tvb(off, 16))
    if tvb:raw(off, 16) ~= state.boot_id then
        problem(state, item, E.bad_record, "BOOT_ID differs from the header's boot_id")
    end
end

local function decode_time(tvb, off, _, tree, state)
    local uptime = tvb(off, 8):le_uint64()
    local billion = UInt64.new(1000000000)
    local uptime_item = tree:add_le(F.uptime_ns, tvb(off, 8))
    uptime_item:append_text(string.format(" (%s.%09d s)", tostring(uptime / billion),
        (uptime % billion):tonumber()))
    tree:add_le(F.wall_sec, tvb(off + 8, 8))
    local nsec_item = tree:add_le(F.wall_nsec, tvb(off + 16, 4))
    local sec, nsec = tvb(off + 8, 8):le_int64():tonumber(), tvb(off + 16, 4):le_uint()
    if nsec >= WALL_NSEC_LIMIT then
        problem(state, nsec_item, E.bad_record, "wall_nsec is not below 1000000000")
    else
        tree:add(F.wall_time, tvb(off + 8, 12), NSTime.new(sec, nsec)):set_generated()
    end
end

local function decode_taint(tvb, off, _, tree)
    local item = tree:add_le(F.taint, tvb(off, 8))
    local low, high = tvb(off, 4):le_uint(), tvb(off + 4, 4):le_uint()
    local letters, names = {}, {}
    for n = 0, 31 do
        if band(low, lshift(1, n)) ~= 0 then
            local flag = TAINT_FLAGS[n] or { "?", "bit " .. n }
            letters[#letters + 1], names[#names + 1] = flag[1], flag[2]
        end
    end
    if high ~= 0 then
        letters[#letters + 1], names[#names + 1] = "?", "bits 32-63"
    end
    if #names == 0 then
        item:append_text(" (not tainted)")
    else
        item:append_text(string.format(" (%s: %s)", table.concat(letters), table.concat(names, ", ")))
    end
end

local function decode_build_id(tvb, off, len, tree)
    tree:add(F.build_id, tvb(off, len))
end

local function decode_user_blob(tvb, off, len, tree)
    tree:add(F.user_blob, tvb(off, len))
end

local function decode_cpu_id(tvb, off, _, tree)
    tree:add_le(F.cpu_family, tvb(off, 4))
    tree:add_le(F.cpu_model, tvb(off + 4, 4))
    tree:add_le(F.cpu_stepping, tvb(off + 8, 4))
    tree:add_le(F.cpu_microcode, tvb(off + 12, 4))
end

-- A string record: the whole value, never empty.
local function string_decoder(field)
    return function(tvb, off, len, tree)
        tree:add_packet_field(field, tvb(off, len), ENC_UTF_8)
        tree:append_text(": " .. tvb(off, len):string(ENC_UTF_8))
    end
end

local function decode_regs(tvb, off, len, tree, state)
    local arch = tvb(off, 2):le_uint()
    local source = tvb(off + 2, 1):uint()
    tree:add_le(F.regs_arch, tvb(off, 2))
    local source_item = tree:add(F.regs_record_source, tvb(off + 2, 1))
    tree:add(F.reserved, tvb(off + 3, 1))
    tree:append_text(string.format(": %s, %s", name_or(REGS_ARCHS, arch, "arch"),
        name_or(REGS_SOURCES, source, "source")))
    if source == 0 then
        problem(state, source_item, E.bad_record, "REGS source 0 (none)")
    elseif state.dump_info and state.dump_info.regs_source ~= source then
        problem(state, source_item, E.bad_record, "REGS source differs from DUMP_INFO regs_source")
    end
    local payload_len = len - 4
    if payload_len > MAX_REGS_PAYLOAD then
        problem(state, tree, E.bad_record,
            string.format("register payload of %d bytes, more than %d", payload_len, MAX_REGS_PAYLOAD))
    end
    if arch ~= 1 then
        if payload_len > 0 then
            tree:add(F.regs_payload, tvb(off + 4, payload_len))
        end
        return
    end
    if payload_len < 8 * #X86_64_REGS then
        problem(state, tree, E.bad_record, string.format(
            "x86_64 REGS value of %d bytes, shorter than %d", len, 4 + 8 * #X86_64_REGS))
        if payload_len > 0 then
            tree:add(F.regs_payload, tvb(off + 4, payload_len))
        end
        return
    end
    for i, name in ipairs(X86_64_REGS) do
        tree:add_le(REG_FIELDS[name], tvb(off + 4 + 8 * (i - 1), 8))
    end
    return 4 + 8 * #X86_64_REGS
end

local function decode_log_chunk(tvb, off, len, tree, state)
    local offset, data_len = tvb(off, 4):le_uint(), len - 4
    local offset_item = tree:add_le(F.log_offset, tvb(off, 4))
    tree:add_packet_field(F.log_data, tvb(off + 4, data_len), ENC_UTF_8)
    tree:append_text(string.format(": log bytes %d..%d", offset, offset + data_len - 1))
    local log_len = state.dump_info and state.dump_info.log_len
    if log_len and offset + data_len > log_len then
        problem(state, offset_item, E.bad_record,
            string.format("log chunk %d..%d outside the log of %d bytes", offset,
                offset + data_len - 1, log_len))
    end
end

-- LOG_ZCHUNK (version 2, PROTOCOL.md section 12.2): part of one compressed log piece.
local function decode_log_zchunk(tvb, off, len, tree, state)
    local piece_start, piece_len = tvb(off, 4):le_uint(), tvb(off + 4, 4):le_uint()
    local z_len, z_offset = tvb(off + 8, 4):le_uint(), tvb(off + 12, 4):le_uint()
    local data_len = len - 16
    tree:add_le(F.zchunk_piece_start, tvb(off, 4))
    local piece_len_item = tree:add_le(F.zchunk_piece_len, tvb(off + 4, 4))
    local z_len_item = tree:add_le(F.zchunk_z_len, tvb(off + 8, 4))
    local z_offset_item = tree:add_le(F.zchunk_z_offset, tvb(off + 12, 4))
    tree:add(F.zchunk_data, tvb(off + 16, data_len))
    tree:append_text(string.format(": piece of log bytes %d..%d, compressed bytes %d..%d of %d",
        piece_start, piece_start + piece_len - 1, z_offset, z_offset + data_len - 1, z_len))
    -- The checks of the codec's BadZChunk; Lua numbers hold these u32 sums exactly.
    if piece_len == 0 or piece_len > PIECE_LEN then
        problem(state, piece_len_item, E.bad_zchunk,
            string.format("piece_len %d is not 1 to %d", piece_len, PIECE_LEN))
    end
    local log_len = state.dump_info and state.dump_info.log_len
    if log_len and piece_start + piece_len > log_len then
        problem(state, piece_len_item, E.bad_zchunk, string.format("piece %d..%d outside the log of %d bytes",
            piece_start, piece_start + piece_len - 1, log_len))
    end
    if z_len == 0 then
        problem(state, z_len_item, E.bad_zchunk, "z_len 0")
    end
    if z_offset + data_len > z_len then
        problem(state, z_offset_item, E.bad_zchunk, string.format(
            "compressed bytes %d..%d beyond z_len %d", z_offset, z_offset + data_len - 1, z_len))
    end
end

local function decode_reserved(tvb, off, len, tree)
    if len > 0 then
        tree:add(F.record_value, tvb(off, len))
    end
end

-- The record types of PROTOCOL.md section 4. `min` is the shortest valid value; `size` the
-- length of the known layout (longer values are valid, the rest is shown as extra bytes);
-- a decoder may return the length it used instead.
local RECORD_TYPES = {
    [0x0001] = { name = "DUMP_INFO", min = 8, size = 8, decode = decode_dump_info },
    [0x0002] = { name = "BOOT_ID", min = 16, size = 16, decode = decode_boot_id },
    [0x0003] = { name = "TIME", min = 20, size = 20, decode = decode_time },
    [0x0004] = { name = "TAINT", min = 8, size = 8, decode = decode_taint },
    [0x0005] = { name = "REGS", min = 4, decode = decode_regs },
    [0x0006] = { name = "USER_BLOB", min = 0, decode = decode_user_blob },
    [0x0010] = { name = "KERNEL_RELEASE", min = 1, decode = string_decoder(F.kernel_release) },
    [0x0011] = { name = "KERNEL_VERSION", min = 1, decode = string_decoder(F.kernel_version) },
    [0x0012] = { name = "HOSTNAME", min = 1, decode = string_decoder(F.hostname) },
    [0x0013] = { name = "ARCH", min = 1, decode = string_decoder(F.arch) },
    [0x0014] = { name = "CPU_VENDOR", min = 1, decode = string_decoder(F.cpu_vendor) },
    [0x0015] = { name = "CPU_ID", min = 16, size = 16, decode = decode_cpu_id },
    [0x0016] = { name = "BUILD_ID", min = 1, decode = decode_build_id },
    [0x0020] = { name = "DMI_BIOS_VENDOR", min = 1, decode = string_decoder(F.dmi_bios_vendor) },
    [0x0021] = { name = "DMI_BIOS_VERSION", min = 1, decode = string_decoder(F.dmi_bios_version) },
    [0x0022] = { name = "DMI_BIOS_DATE", min = 1, decode = string_decoder(F.dmi_bios_date) },
    [0x0023] = { name = "DMI_BOARD_VENDOR", min = 1, decode = string_decoder(F.dmi_board_vendor) },
    [0x0024] = { name = "DMI_BOARD_NAME", min = 1, decode = string_decoder(F.dmi_board_name) },
    [0x0025] = { name = "DMI_PRODUCT_NAME", min = 1, decode = string_decoder(F.dmi_product_name) },
    [0x0040] = { name = "LOG_CHUNK", min = 5, decode = decode_log_chunk },
    [0x0050] = { name = "REDUNDANCY_INFO", min = 0, decode = decode_reserved },
}
local DUMP_INFO = 0x0001

-- Version 2: the records of version 1 and LOG_ZCHUNK. A version-1 packet skips 0x0041 as an
-- unknown record, as a version-1 receiver does (and the type's value names are version 1's).
local LOG_ZCHUNK = { name = "LOG_ZCHUNK", min = 17, decode = decode_log_zchunk }
local RECORD_TYPES_V2 = { [0x0041] = LOG_ZCHUNK }
for type_number, def in pairs(RECORD_TYPES) do
    RECORD_TYPES_V2[type_number] = def
end

local RECORD_TYPE_NAMES = {}
for type_number, def in pairs(RECORD_TYPES) do
    RECORD_TYPE_NAMES[type_number] = def.name
end
F.record_type = ProtoField.uint16("netoops.record.type", "Type", base.HEX, RECORD_TYPE_NAMES)

netoops.fields = F
netoops.experts = E

local function unknown_type_name(type_number)
    if type_number == 0 then
        return "invalid type 0"
    elseif type_number >= 0x8000 then
        return string.format("unknown critical type 0x%04x", type_number)
    elseif type_number >= 0x7F00 then
        return string.format("private type 0x%04x", type_number)
    end
    return string.format("unknown type 0x%04x", type_number)
end

------------------------------------------------------------------------------------------------
-- Records (PROTOCOL.md section 3)
------------------------------------------------------------------------------------------------

-- Checks and shows the value of one record whose bytes are all present.
local function dissect_record_value(tvb, off, type_number, len, item, state, first)
    local def = state.record_types[type_number]
    if type_number == DUMP_INFO then
        if not first then
            problem(state, item, E.bad_record, "DUMP_INFO that is not the first record")
        end
    elseif first then
        problem(state, item, E.bad_record, "first record is not DUMP_INFO")
    end

    if def == nil then
        if type_number == 0 then
            problem(state, item, E.bad_record, "record type 0 is invalid")
        elseif type_number >= 0x8000 then
            problem(state, item, E.unknown_critical, unknown_type_name(type_number))
        else
            item:add_proto_expert_info(E.unknown_record, unknown_type_name(type_number) .. ", skipped")
        end
        if len > 0 then
            item:add(F.record_value, tvb(off, len))
        end
        return
    end

    if len < def.min then
        problem(state, item, E.bad_record, string.format("%s value of %d bytes, shorter than %d",
            def.name, len, def.min))
        if len > 0 then
            item:add(F.record_value, tvb(off, len))
        end
        return
    end
    local used = def.decode(tvb, off, len, item, state) or def.size
    if used and len > used then
        local extra = item:add(F.record_extra, tvb(off + used, len - used))
        extra:add_proto_expert_info(E.extra_bytes)
    end
end

-- The records in [start, stop); `packet_len` is where they must end, `stop` may be before it
-- when the capture is short.
local function dissect_records(tvb, tree, state, start, stop, packet_len)
    local off = start
    local first = true
    while off < stop do
        if stop - off < RECORD_HEADER_LEN then
            local item = tree:add(F.record_value, tvb(off, stop - off))
            problem(state, item, E.record_overrun, string.format(
                "%d bytes at offset %d: too short for a record header", stop - off, off))
            return
        end
        local type_number = tvb(off, 2):le_uint()
        local len = tvb(off + 2, 2):le_uint()
        local record_end = off + RECORD_HEADER_LEN + len
        local present = math.min(record_end, stop) - off
        local def = state.record_types[type_number]

        local item = tree:add(F.record, tvb(off, present))
        item:set_text(string.format("%s, %d bytes", def and def.name or unknown_type_name(type_number), len))
        local type_item = item:add_le(F.record_type, tvb(off, 2))
        if def and RECORD_TYPE_NAMES[type_number] == nil then -- a version-2 record type
            type_item:set_text(string.format("Type: %s (0x%04x)", def.name, type_number))
        end
        item:add_le(F.record_length, tvb(off + 2, 2))

        if record_end > stop then
            local why = record_end > packet_len and "overruns packet_len" or "is cut off by the end of the data"
            problem(state, item, E.record_overrun, string.format(
                "record at offset %d with a %d-byte value %s (%d)", off, len, why,
                math.min(packet_len, stop)))
            if present > RECORD_HEADER_LEN then
                item:add(F.record_value, tvb(off + RECORD_HEADER_LEN, present - RECORD_HEADER_LEN))
            end
            return
        end
        dissect_record_value(tvb, off + RECORD_HEADER_LEN, type_number, len, item, state, first)
        first = false
        off = record_end
    end
end

------------------------------------------------------------------------------------------------
-- Header (PROTOCOL.md section 2; version 2: section 12); magic and version are already shown
------------------------------------------------------------------------------------------------

local function v1_info(state, h)
    local short_id = hex_bytes(state.boot_id):sub(1, 8)
    local kind = h.packet_type == PACKET_TYPE_DATA and "packet"
        or name_or(PACKET_TYPES, h.packet_type, "packet type")
    return string.format("%s %s\xe2\x80\xa6#%d %s %d/%d", name_or(REASONS, h.reason, "reason"),
        short_id, h.seq, kind, h.index + 1, h.count)
end

-- "OOPS 6f1c2b7e…#7 v2 packet 1/2", "... v2 parity 1 (k=2)", "... v2 sealed key 1 packet 3/5".
-- A parity packet is numbered by its row (index - count) from 1; the number of parity packets
-- is not in the header, k = min(count, 128) is the number of data packets it protects.
local function v2_info(state, h, sealed)
    local text = string.format("%s %s\xe2\x80\xa6#%d v2", name_or(REASONS, h.reason, "reason"),
        hex_bytes(state.boot_id):sub(1, 8), h.seq)
    if sealed then
        text = text .. string.format(" sealed key %d", h.key_id)
    end
    if h.packet_type == PACKET_TYPE_PARITY then
        local k = math.min(h.count, MAX_PARITY_DATA)
        if h.count > 0 and h.index >= h.count then
            return text .. string.format(" parity %d (k=%d)", h.index - h.count + 1, k)
        end
        return text .. string.format(" parity with index %d (k=%d)", h.index, k)
    end
    local kind = h.packet_type == PACKET_TYPE_DATA and "packet"
        or name_or(PACKET_TYPES, h.packet_type, "packet type")
    return text .. string.format(" %s %d/%d", kind, h.index + 1, h.count)
end

-- A sealed packet's encrypted body [72, packet_len - 16) and its tag, as far as present.
local function dissect_sealed_body(tvb, tree, h, stop)
    local body_end = h.packet_len - TAG_LEN
    if stop > SEALED_HEADER_LEN and body_end > SEALED_HEADER_LEN then
        local body = tvb(SEALED_HEADER_LEN, math.min(body_end, stop) - SEALED_HEADER_LEN)
        local item = tree:add(F.sealed_body, body)
        item:append_text(string.format(" [XChaCha20-Poly1305 under key %d, not decrypted]", h.key_id))
    end
    if stop > body_end then
        tree:add(F.tag, tvb(body_end, stop - body_end))
    end
end

-- A version-2 PARITY packet (PROTOCOL.md section 12.4): the checks of the codec's parse_parity
-- that the header allows, then the shard (or, sealed, the encrypted shard).
local function dissect_parity(tvb, tree, state, h, stop, sealed, items)
    if h.count == 0 then
        problem(state, items.count, E.bad_layout, "parity packet with count 0")
    elseif h.index < h.count then
        problem(state, items.index, E.bad_layout, string.format(
            "parity packet with index %d, below count %d (a data packet's index)", h.index, h.count))
    else
        local row = h.index - h.count
        local row_item = tree:add(F.parity_row, tvb(36, 2), row)
        row_item:set_generated()
        row_item:append_text(string.format(" (index %d - count %d; protects data packets 0..%d)",
            h.index, h.count, math.min(h.count, MAX_PARITY_DATA) - 1))
        if row >= MAX_PARITY_ROWS then
            problem(state, row_item, E.bad_layout, string.format(
                "parity row %d, a dump has at most %d parity packets", row, MAX_PARITY_ROWS))
        end
    end
    if h.packet_offset ~= 0 then
        problem(state, items.packet_offset, E.bad_layout,
            string.format("parity packet with packet_offset %d, not 0", h.packet_offset))
    end
    local shard_len = h.packet_len - h.header_len - (sealed and TAG_LEN or 0)
    if shard_len < SHARD_PREFIX_LEN then
        problem(state, tree, E.bad_layout, string.format("parity shard of %d bytes, shorter than its "
            .. "%d-byte length prefix", shard_len, SHARD_PREFIX_LEN))
    end
    if sealed then
        dissect_sealed_body(tvb, tree, h, stop)
    elseif stop > h.header_len then
        tree:add(F.parity_shard, tvb(h.header_len, stop - h.header_len))
    end
end

-- One packet of format `version` (1 or 2): the header, then records, a parity shard or a
-- sealed body. Every version-1 path is that of version 1 alone; `v2` only adds.
local function dissect_packet(tvb, pinfo, tree, state, version)
    local v2 = version == 2
    local avail = tvb:len()
    if avail < V1_HEADER_LEN then
        problem(state, tree, E.truncated, string.format(
            "%d bytes, shorter than the %d-byte version-%d header", avail, V1_HEADER_LEN, version))
        if avail > 5 then
            tree:add(F.payload, tvb(5, avail - 5))
        end
        pinfo.cols.info:set(string.format("netoops version %d, truncated header", version))
        return
    end

    local h = {
        packet_type = tvb(5, 1):uint(),
        header_len = tvb(6, 1):uint(),
        flags = tvb(7, 1):uint(),
        packet_len = tvb(8, 2):le_uint(),
        reason = tvb(10, 1):uint(),
        key_id = tvb(11, 1):uint(),
        crc32c = tvb(12, 4):le_uint(),
        seq = tvb(32, 4):le_uint(),
        index = tvb(36, 2):le_uint(),
        count = tvb(38, 2):le_uint(),
        dump_len = tvb(40, 4):le_uint(),
        packet_offset = tvb(44, 4):le_uint(),
    }
    local sealed = v2 and band(h.flags, FLAG_SEALED) ~= 0
    state.boot_id = tvb:raw(16, 16)
    state.record_types = v2 and RECORD_TYPES_V2 or RECORD_TYPES

    tree:add(F.packet_type, tvb(5, 1))
    local header_len_item = tree:add(F.header_len, tvb(6, 1))
    local flags = tree:add(F.flags, tvb(7, 1))
    flags:add(F.parity_follows, tvb(7, 1))
    if v2 then
        flags:add(F.sealed, tvb(7, 1))
    end
    local packet_len_item = tree:add_le(F.packet_len, tvb(8, 2))
    tree:add(F.reason, tvb(10, 1))
    local key_id_item
    if v2 then
        key_id_item = tree:add(F.key_id, tvb(11, 1))
    else
        tree:add(F.reserved, tvb(11, 1))
    end
    local crc_item = tree:add_le(F.crc32c, tvb(12, 4))
    tree:add(F.boot_id, tvb(16, 16))
    tree:add_le(F.seq, tvb(32, 4))
    local items = {}
    items.index = tree:add_le(F.index, tvb(36, 2))
    items.count = tree:add_le(F.count, tvb(38, 2))
    tree:add_le(F.dump_len, tvb(40, 4))
    items.packet_offset = tree:add_le(F.packet_offset, tvb(44, 4))
    tree:append_text(string.format(", %s, dump %s#%d, index %d, count %d",
        name_or(REASONS, h.reason, "reason"), uuid_string(state.boot_id), h.seq, h.index, h.count))
    if v2 then
        tree:append_text(sealed and string.format(", version 2, sealed under key %d", h.key_id)
            or ", version 2")
        pinfo.cols.info:set(v2_info(state, h, sealed))
    else
        pinfo.cols.info:set(v1_info(state, h))
    end

    -- Header length and packet length (section 6, steps 2 and 3; sealed: section 12.5).
    if h.header_len < V1_HEADER_LEN then
        problem(state, header_len_item, E.bad_header,
            string.format("header_len %d is less than %d", h.header_len, V1_HEADER_LEN))
        return
    end
    if sealed and h.header_len ~= SEALED_HEADER_LEN then
        problem(state, header_len_item, E.bad_header, string.format(
            "sealed packet with header_len %d, not %d", h.header_len, SEALED_HEADER_LEN))
        if avail > V1_HEADER_LEN then
            tree:add(F.payload, tvb(V1_HEADER_LEN, avail - V1_HEADER_LEN))
        end
        return
    end
    if h.packet_len < h.header_len then
        problem(state, packet_len_item, E.bad_header,
            string.format("packet_len %d is less than header_len %d", h.packet_len, h.header_len))
        return
    end
    if sealed and h.packet_len < SEALED_HEADER_LEN + TAG_LEN then
        problem(state, packet_len_item, E.bad_header, string.format(
            "sealed packet of %d bytes, no room for the %d-byte header and the %d-byte tag",
            h.packet_len, SEALED_HEADER_LEN, TAG_LEN))
        if avail > V1_HEADER_LEN then
            tree:add(F.payload, tvb(V1_HEADER_LEN, avail - V1_HEADER_LEN))
        end
        return
    end
    local stop = math.min(h.packet_len, avail)
    if avail < h.packet_len then
        problem(state, packet_len_item, E.truncated,
            string.format("packet_len %d, but only %d bytes present", h.packet_len, avail))
    elseif avail > h.packet_len then
        local item = tree:add(F.trailing, tvb(h.packet_len, avail - h.packet_len))
        problem(state, item, E.trailing_bytes,
            string.format("%d bytes after packet_len %d", avail - h.packet_len, h.packet_len))
    end

    -- CRC32C (step 4). A sealed packet has none: crc32c is 0, the tag authenticates it.
    local status
    if sealed then
        status = CRC_STATUS_NOT_PRESENT
        if h.crc32c ~= 0 then
            crc_item:append_text(" [must be 0 in a sealed packet]")
            problem(state, crc_item, E.bad_header,
                string.format("crc32c 0x%08x in a sealed packet, must be 0", h.crc32c))
        else
            crc_item:append_text(" [not used: the tag authenticates a sealed packet]")
        end
        if h.key_id == 0 then
            problem(state, key_id_item, E.bad_header, "sealed packet with key id 0 (must be 1 to 255)")
        end
    elseif avail < h.packet_len then
        status = CRC_STATUS_UNVERIFIED
        crc_item:append_text(" [unverified: packet truncated]")
    else
        local computed = packet_crc32c(tvb, h.packet_len)
        if computed == h.crc32c then
            status = CRC_STATUS_GOOD
            crc_item:append_text(" [correct]")
        else
            status = CRC_STATUS_BAD
            crc_item:append_text(string.format(" [incorrect, should be 0x%08x]", computed))
            problem(state, crc_item, E.bad_crc, string.format(
                "CRC32C 0x%08x, computed 0x%08x", h.crc32c, computed))
        end
    end
    crc_item:add(F.crc32c_status, tvb(12, 4), status):set_generated()

    if sealed then
        -- The nonce (header_len is 72 here): the salt, then the counter.
        if stop > V1_HEADER_LEN then
            local nonce_len = math.min(SEALED_HEADER_LEN, stop) - V1_HEADER_LEN
            local nonce = tree:add(F.nonce, tvb(V1_HEADER_LEN, nonce_len))
            if nonce_len >= SALT_LEN then
                nonce:add(F.nonce_salt, tvb(V1_HEADER_LEN, SALT_LEN))
            end
            if nonce_len == SEALED_HEADER_LEN - V1_HEADER_LEN then
                nonce:add_le(F.nonce_counter, tvb(V1_HEADER_LEN + SALT_LEN, 8))
            end
        end
    elseif h.header_len > V1_HEADER_LEN then
        tree:add(F.header_extra, tvb(V1_HEADER_LEN, math.min(h.header_len, stop) - V1_HEADER_LEN))
    end

    -- Packet type (step 5): DATA packets have records, version-2 PARITY packets a shard.
    if v2 and h.packet_type == PACKET_TYPE_PARITY then
        dissect_parity(tvb, tree, state, h, stop, sealed, items)
        return
    end
    if h.packet_type ~= PACKET_TYPE_DATA then
        local what = (h.packet_type == 2 and not v2)
            and "PARITY packet (reserved; version-1 receivers ignore it)"
            or string.format("undefined packet type %d", h.packet_type)
        problem(state, tree, E.not_data, what)
        if sealed then
            dissect_sealed_body(tvb, tree, h, stop)
        elseif stop > h.header_len then
            tree:add(F.payload, tvb(h.header_len, stop - h.header_len))
        end
        return
    end

    -- Index and layout (step 6). A sealed packet's record area is its body: packet_len - 88.
    local area = h.packet_len - h.header_len - (sealed and TAG_LEN or 0)
    if h.index >= h.count then
        problem(state, items.index, E.bad_layout,
            string.format("index %d is not below count %d", h.index, h.count))
    elseif h.packet_offset + area > h.dump_len then
        problem(state, items.packet_offset, E.bad_layout, string.format(
            "record area %d..%d ends beyond dump_len %d", h.packet_offset, h.packet_offset + area, h.dump_len))
    elseif h.index == 0 and h.packet_offset ~= 0 then
        problem(state, items.packet_offset, E.bad_layout, "packet 0 with a non-zero packet_offset")
    elseif h.index == h.count - 1 and h.packet_offset + area ~= h.dump_len then
        problem(state, items.packet_offset, E.bad_layout, "the last packet does not end at dump_len")
    end

    -- Records (step 7); a sealed packet's records are encrypted.
    if sealed then
        dissect_sealed_body(tvb, tree, h, stop)
        return
    end
    if stop > h.header_len then
        dissect_records(tvb, tree, state, h.header_len, stop, h.packet_len)
    end
    if state.dump_info == nil and stop > h.header_len then
        problem(state, tree, E.bad_record, "no DUMP_INFO record")
    end
end

-- The header layout by version byte.
local VERSIONS = {
    [1] = function(tvb, pinfo, tree, state) return dissect_packet(tvb, pinfo, tree, state, 1) end,
    [2] = function(tvb, pinfo, tree, state) return dissect_packet(tvb, pinfo, tree, state, 2) end,
}

------------------------------------------------------------------------------------------------
-- Entry points
------------------------------------------------------------------------------------------------

function netoops.dissector(tvb, pinfo, root)
    pinfo.cols.protocol:set("netoops")
    local avail = tvb:len()
    local tree = root:add(netoops, tvb())
    local state = { problems = {} }

    if avail < 4 then
        problem(state, tree, E.truncated, string.format("%d bytes: too short for the magic", avail))
        pinfo.cols.info:set("netoops: truncated")
        return avail
    end
    local magic_item = tree:add(F.magic, tvb(0, 4))
    if tvb:raw(0, 4) ~= MAGIC then
        problem(state, magic_item, E.bad_magic, "magic is not \"NtOp\" (4e 74 4f 70)")
        pinfo.cols.info:set("netoops: bad magic")
        return avail
    end
    if avail < 5 then
        problem(state, tree, E.truncated, "4 bytes: no version byte")
        pinfo.cols.info:set("netoops: truncated")
        return avail
    end

    local version = tvb(4, 1):uint()
    local version_item = tree:add(F.version, tvb(4, 1))
    local dissect_version = VERSIONS[version]
    if dissect_version == nil then
        local text = string.format("unsupported version %d", version)
        version_item:add_proto_expert_info(E.unsupported_version, text)
        tree:append_text(", " .. text)
        pinfo.cols.info:set("netoops " .. text)
        if avail > 5 then
            tree:add(F.payload, tvb(5, avail - 5))
        end
        return avail
    end

    dissect_version(tvb, pinfo, tree, state)
    if #state.problems > 0 then
        pinfo.cols.info:append(" [" .. state.problems[1] .. (#state.problems > 1 and ", ..." or "") .. "]")
    end
    return avail
end

-- Heuristic on UDP: the magic at offset 0.
local function heuristic(tvb, pinfo, root)
    if tvb:len() < 4 or tvb:raw(0, 4) ~= MAGIC then
        return false
    end
    netoops.dissector(tvb, pinfo, root)
    return true
end
netoops:register_heuristic("udp", heuristic)

-- The UDP port, a preference (0: none, the heuristic alone).
netoops.prefs.udp_port = Pref.uint("UDP port", DEFAULT_PORT,
    "UDP port netoops packets are sent to (0: none; the heuristic still finds them by their magic)")

local registered_port = 0
local function register_port()
    local udp_table = DissectorTable.get("udp.port")
    if registered_port ~= 0 then
        udp_table:remove(registered_port, netoops)
    end
    registered_port = netoops.prefs.udp_port
    if registered_port ~= 0 then
        udp_table:add(registered_port, netoops)
    end
end
netoops.prefs_changed = register_port
register_port()
