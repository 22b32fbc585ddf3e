// Spec decoders, one per kind; used by decode.cc.
#pragma once

#include "resources/doc_reader.h"
#include "resources/model.h"

namespace banger {

void decode_network_spec(DocReader& r, const DocReader::MapView& spec, Network& out);
void decode_kernel_spec(DocReader& r, const DocReader::MapView& spec, const std::string& base_dir,
                        Kernel& out);
void decode_image_spec(DocReader& r, const DocReader::MapView& spec, const std::string& base_dir,
                       Image& out);
void decode_vm_spec(DocReader& r, const DocReader::MapView& spec, VM& out);
void decode_port_forward_spec(DocReader& r, const DocReader::MapView& spec, PortForward& out);

// Defaults from DESIGN.md section 2, named once.
inline constexpr const char* kDefaultKernelArgs = "console=ttyS0 reboot=k panic=1";
inline constexpr const char* kDefaultNetwork = "default";
inline constexpr const char* kDefaultSubnet = "172.20.0.0/24";
inline constexpr uint64_t kDefaultMemory = 512 * MiB;

}  // namespace banger
