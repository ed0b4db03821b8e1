-- pdmv2.lua: Wireshark dissector for the IPv6 Performance and Diagnostic
-- Metrics destination option (type 0x0F) in all the forms pdmv2 meets
-- (docs/PROTOCOL.md section 1):
--   Opt Data Len 10  RFC 8250 PDM
--   Opt Data Len 22  PDMv2, metrics in clear (draft-ietf-ippm-encrypted-pdmv2)
--   Opt Data Len 34  PDMv2, metrics encrypted (only Version, Epoch and PSNTP in clear)
--   Opt Data Len 18  the older draft's clear form (16-bit PSNs)
-- Runs on Wireshark 3.6 and 4.x; install and use: docs/analyzer.md.
--
-- Wireshark's own IPv6 dissector knows only RFC 8250 PDM and flags every
-- other length as malformed, and (up to 4.x at least) offers no table to
-- plug a single option into. So this script takes over the Destination
-- Options header (ip.proto 60) for packets whose header holds an option of
-- type 0x0F; every other Destination Options header still goes to the
-- built-in dissector, untouched.
--
-- Filter fields: pdmv2.format, pdmv2.version, pdmv2.epoch, pdmv2.psntp,
-- pdmv2.psnlr, pdmv2.gp, pdmv2.scale_dtlr, pdmv2.scale_dtls, pdmv2.delta_tlr,
-- pdmv2.delta_tls, pdmv2.dtlr_ns, pdmv2.dtls_ns (decoded times, ns),
-- pdmv2.ciphertext, pdmv2.tag, pdmv2.random, pdmv2.flag, pdmv2.reserved.
-- Expert info (filter _ws.expert or pdmv2.malformed... below) marks bad
-- lengths, versions, reserved bits, and options cut short.

local pdm = Proto("pdmv2", "IPv6 Performance and Diagnostic Metrics (PDM, PDMv2)")
local dstopts = Proto("pdmv2.dstopts", "Destination Options for IPv6 (PDM/PDMv2)")

local FORMATS = {
  [10] = "RFC 8250 PDM",
  [22] = "PDMv2 (clear)",
  [34] = "PDMv2 (encrypted)",
  [18] = "PDMv2 (older draft, clear)",
}

local f = {
  format = ProtoField.string("pdmv2.format", "Format"),
  type = ProtoField.uint8("pdmv2.type", "Option Type", base.HEX),
  length = ProtoField.uint8("pdmv2.length", "Opt Data Len", base.DEC),
  version = ProtoField.uint16("pdmv2.version", "Version", base.DEC, nil, 0xF000),
  epoch = ProtoField.uint16("pdmv2.epoch", "Epoch", base.DEC, nil, 0x0FFF),
  draft_reserved = ProtoField.uint16("pdmv2.draft_reserved", "Reserved", base.HEX, nil, 0x0FFF),
  random = ProtoField.uint16("pdmv2.random", "Random Number", base.HEX, nil, 0xFFFE),
  flag = ProtoField.uint16("pdmv2.flag", "Flag", base.DEC, nil, 0x0001),
  psntp = ProtoField.uint32("pdmv2.psntp", "PSN This Packet", base.DEC),
  psnlr = ProtoField.uint32("pdmv2.psnlr", "PSN Last Received", base.DEC),
  gp = ProtoField.uint32("pdmv2.gp", "Global Pointer", base.DEC),
  scale_dtlr = ProtoField.uint8("pdmv2.scale_dtlr", "Scale DTLR", base.DEC),
  scale_dtls = ProtoField.uint8("pdmv2.scale_dtls", "Scale DTLS", base.DEC),
  reserved = ProtoField.uint16("pdmv2.reserved", "Reserved", base.HEX),
  delta_tlr = ProtoField.uint16("pdmv2.delta_tlr", "Delta Time Last Received", base.DEC),
  delta_tls = ProtoField.uint16("pdmv2.delta_tls", "Delta Time Last Sent", base.DEC),
  dtlr_ns = ProtoField.double("pdmv2.dtlr_ns", "Time Last Received (ns)"),
  dtls_ns = ProtoField.double("pdmv2.dtls_ns", "Time Last Sent (ns)"),
  ciphertext = ProtoField.bytes("pdmv2.ciphertext", "Encrypted metrics (PSNLR, Global Pointer, scales, deltas)"),
  tag = ProtoField.bytes("pdmv2.tag", "Authentication tag (12 octets)"),
}
pdm.fields = {
  f.format, f.type, f.length, f.version, f.epoch, f.draft_reserved, f.random, f.flag, f.psntp, f.psnlr, f.gp,
  f.scale_dtlr, f.scale_dtls, f.reserved, f.delta_tlr, f.delta_tls, f.dtlr_ns, f.dtls_ns, f.ciphertext, f.tag,
}

local e = {
  bad_length = ProtoExpert.new("pdmv2.malformed.length", "PDM option length is none of 10, 18, 22, 34",
    expert.group.MALFORMED, expert.severity.ERROR),
  bad_version = ProtoExpert.new("pdmv2.malformed.version", "PDMv2 version is not 2",
    expert.group.MALFORMED, expert.severity.ERROR),
  truncated = ProtoExpert.new("pdmv2.malformed.truncated", "PDM option runs past its header (or the capture)",
    expert.group.MALFORMED, expert.severity.ERROR),
  reserved = ProtoExpert.new("pdmv2.reserved_nonzero", "Reserved bits are not zero (receivers ignore them)",
    expert.group.PROTOCOL, expert.severity.WARN),
  encrypted = ProtoExpert.new("pdmv2.encrypted", "Metrics are encrypted: open them with the pdmv2-decrypt plugin and a key file, or pdmv2-analyze decrypt (docs/analyzer.md)",
    expert.group.SECURITY, expert.severity.NOTE),
}
pdm.experts = { e.bad_length, e.bad_version, e.truncated, e.reserved, e.encrypted }

local hf_nxt = ProtoField.uint8("pdmv2.dstopts.nxt", "Next Header", base.DEC)
local hf_len = ProtoField.uint8("pdmv2.dstopts.len", "Length", base.DEC)
local hf_opt_type = ProtoField.uint8("pdmv2.dstopts.opt.type", "Option Type", base.HEX)
local hf_opt_len = ProtoField.uint8("pdmv2.dstopts.opt.len", "Length", base.DEC)
local hf_opt_data = ProtoField.bytes("pdmv2.dstopts.opt.data", "Data")
dstopts.fields = { hf_nxt, hf_len, hf_opt_type, hf_opt_len, hf_opt_data }
local e_opts = ProtoExpert.new("pdmv2.dstopts.malformed", "Options run past the header",
  expert.group.MALFORMED, expert.severity.ERROR)
dstopts.experts = { e_opts }

local ip_proto = DissectorTable.get("ip.proto")
local builtin = ip_proto:get_dissector(60)

-- DELTA x 2^SCALE attoseconds (RFC 8250 section 3.3), in ns.
local function decoded_ns(delta, scale)
  return delta * (2 ^ scale) / 1e9
end

local function add_times(tree, tvb, tlr_range, tls_range, s_tlr, s_tls)
  local dtlr = tlr_range:uint()
  local dtls = tls_range:uint()
  tree:add(f.delta_tlr, tlr_range)
  tree:add(f.delta_tls, tls_range)
  local g1 = tree:add(f.dtlr_ns, tlr_range, decoded_ns(dtlr, s_tlr))
  g1:set_generated()
  local g2 = tree:add(f.dtls_ns, tls_range, decoded_ns(dtls, s_tls))
  g2:set_generated()
end

local function check_version(tree, tvb)
  tree:add(f.version, tvb(2, 2))
  if bit.rshift(tvb(2, 1):uint(), 4) ~= 2 then
    tree:add_proto_expert_info(e.bad_version)
    return false
  end
  return true
end

-- Dissects one PDM option (type octet through its data) into `parent`.
local function dissect_pdm(tvb, pinfo, parent)
  local len = tvb(1, 1):uint()
  local name = FORMATS[len] or "PDM (malformed)"
  local tree = parent:add(pdm, tvb(), "Performance and Diagnostic Metrics: " .. name)
  tree:add(f.format, tvb(0, 2), name):set_generated()
  tree:add(f.type, tvb(0, 1))
  local lenitem = tree:add(f.length, tvb(1, 1))
  if not FORMATS[len] then
    lenitem:add_proto_expert_info(e.bad_length)
    return
  end
  if tvb:len() < 2 + len then
    lenitem:add_proto_expert_info(e.truncated)
    return
  end
  local summary
  if len == 10 then
    local s_tlr, s_tls = tvb(2, 1):uint(), tvb(3, 1):uint()
    tree:add(f.scale_dtlr, tvb(2, 1))
    tree:add(f.scale_dtls, tvb(3, 1))
    tree:add(f.psntp, tvb(4, 2))
    tree:add(f.psnlr, tvb(6, 2))
    add_times(tree, tvb, tvb(8, 2), tvb(10, 2), s_tlr, s_tls)
    summary = string.format("PDM psntp=%d psnlr=%d", tvb(4, 2):uint(), tvb(6, 2):uint())
  elseif len == 18 then
    if not check_version(tree, tvb) then return end
    tree:add(f.draft_reserved, tvb(2, 2))
    if bit.band(tvb(2, 2):uint(), 0x0FFF) ~= 0 then tree:add_proto_expert_info(e.reserved) end
    tree:add(f.random, tvb(4, 2))
    tree:add(f.flag, tvb(4, 2))
    local s_tlr, s_tls = tvb(6, 1):uint(), tvb(7, 1):uint()
    tree:add(f.scale_dtlr, tvb(6, 1))
    tree:add(f.scale_dtls, tvb(7, 1))
    tree:add(f.gp, tvb(8, 4))
    tree:add(f.psntp, tvb(12, 2))
    tree:add(f.psnlr, tvb(14, 2))
    add_times(tree, tvb, tvb(16, 2), tvb(18, 2), s_tlr, s_tls)
    summary = string.format("PDMv2-draft psntp=%d psnlr=%d", tvb(12, 2):uint(), tvb(14, 2):uint())
  else
    if not check_version(tree, tvb) then return end
    tree:add(f.epoch, tvb(2, 2))
    tree:add(f.psntp, tvb(4, 4))
    if len == 34 then
      tree:add(f.ciphertext, tvb(8, 16))
      tree:add(f.tag, tvb(24, 12))
      tree:add_proto_expert_info(e.encrypted)
      summary = string.format("PDMv2 encrypted epoch=%d psntp=%d", bit.band(tvb(2, 2):uint(), 0x0FFF), tvb(4, 4):uint())
    else
      tree:add(f.psnlr, tvb(8, 4))
      tree:add(f.gp, tvb(12, 4))
      local s_tlr, s_tls = tvb(16, 1):uint(), tvb(17, 1):uint()
      tree:add(f.scale_dtlr, tvb(16, 1))
      tree:add(f.scale_dtls, tvb(17, 1))
      local r = tree:add(f.reserved, tvb(18, 2))
      if tvb(18, 2):uint() ~= 0 then r:add_proto_expert_info(e.reserved) end
      add_times(tree, tvb, tvb(20, 2), tvb(22, 2), s_tlr, s_tls)
      summary = string.format("PDMv2 epoch=%d psntp=%d psnlr=%d", bit.band(tvb(2, 2):uint(), 0x0FFF), tvb(4, 4):uint(), tvb(8, 4):uint())
    end
  end
  tree:append_text(", " .. summary)
  return summary
end

-- True when the Destination Options header at the start of tvb holds an option of type 0x0F.
local function has_pdm(tvb)
  if tvb:len() < 2 then return false end
  local hlen = (tvb(1, 1):uint() + 1) * 8
  local last = math.min(hlen, tvb:len())
  local o = 2
  while o < last do
    local t = tvb(o, 1):uint()
    if t == 0 then
      o = o + 1
    else
      if t == 0x0F then return true end
      if o + 1 >= last then return false end
      o = o + 2 + tvb(o + 1, 1):uint()
    end
  end
  return false
end

local OPTION_NAMES = { [0] = "Pad1", [1] = "PadN", [0x0F] = "PDM" }

function dstopts.dissector(tvb, pinfo, tree)
  if not has_pdm(tvb) then
    return builtin:call(tvb, pinfo, tree)
  end
  local nxt = tvb(0, 1):uint()
  local hlen = (tvb(1, 1):uint() + 1) * 8
  local avail = math.min(hlen, tvb:len())
  local h = tree:add(dstopts, tvb(0, avail), "Destination Options for IPv6")
  h:add(hf_nxt, tvb(0, 1))
  h:add(hf_len, tvb(1, 1)):append_text(string.format(" (%d octets)", hlen))
  local o = 2
  local summary = nil
  while o < avail do
    local t = tvb(o, 1):uint()
    if t == 0 then
      h:add(hf_opt_type, tvb(o, 1)):append_text(" (Pad1)")
      o = o + 1
    else
      if o + 2 > avail then
        h:add_proto_expert_info(e_opts)
        break
      end
      local olen = tvb(o + 1, 1):uint()
      local have = math.min(2 + olen, avail - o)
      if t == 0x0F then
        summary = dissect_pdm(tvb(o, have):tvb(), pinfo, h) or summary
      else
        local ot = h:add(hf_opt_type, tvb(o, 1)):append_text(" (" .. (OPTION_NAMES[t] or "option") .. ")")
        ot:add(hf_opt_len, tvb(o + 1, 1))
        if olen > 0 and have > 2 then ot:add(hf_opt_data, tvb(o + 2, have - 2)) end
        if 2 + olen > avail - o then ot:add_proto_expert_info(e_opts) end
      end
      o = o + 2 + olen
    end
  end
  if hlen < tvb:len() then
    -- A Lua sub-buffer ends where the capture does: on a packet cut by the
    -- snapshot length the upper layer sees a short packet, not a cut one
    -- (docs/analyzer.md, "Wireshark"). Its errors stay its own.
    local next_tvb = tvb(hlen):tvb()
    local ok, handled = pcall(function() return ip_proto:try(nxt, next_tvb, pinfo, tree) end)
    if ok and not handled then
      Dissector.get("data"):call(next_tvb, pinfo, tree)
    end
  end
  -- After the upper layer, which rewrites the Info column.
  if summary then pinfo.cols.info:append(" [" .. summary .. "]") end
  return tvb:len()
end

ip_proto:add(60, dstopts)
