// A C++17 program built against the INSTALLED dnnq.h and libdnnq-client.so
// through pkg-config (make check-api, -std=c++17; the header alone with
// -std=c++11 too): the
// header must compile as C++ and every function it declares must link with
// C linkage.
//
//   cxx                   checks a failed connect's codes and text, and
//                         that every entry point links
//   cxx MODEL SOCKET [N]  the asynchronous path as a C++ application uses
//                         it (the api suite runs it against a dnnqd): N
//                         requests (default 8) submitted at once, waited
//                         for on dnnq_event_fd, their outputs read in
//                         place and compared with dnnq_infer's for the same
//                         inputs; prints "MODEL: N async requests match
//                         dnnq_infer" or the failed call's dnnq_strerror and
//                         dnnq_last_error, and exits 1.
#include <dnnq.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// A failed dnnq call as an exception: the code's text and the library's line.
struct dnnq_error : std::runtime_error {
	int code;
	dnnq_error(const char *what, int rc)
		: std::runtime_error(std::string(what) + ": " + dnnq_strerror(rc) + "\n  " +
		                     dnnq_last_error()),
		  code(rc) {}
};

int check(const char *what, int rc)
{
	if (rc < 0)
		throw dnnq_error(what, rc);
	return rc;
}

struct client_close {
	void operator()(dnnq_client *c) const { dnnq_close(c); }
};
struct model_close {
	void operator()(dnnq_model *m) const { dnnq_model_close(m); }
};
using client_ptr = std::unique_ptr<dnnq_client, client_close>;
using model_ptr = std::unique_ptr<dnnq_model, model_close>;

// One request's tensors in the arena, freed with it.
class tensors {
public:
	tensors(dnnq_model *m, dnnq_client *c) : c_(c)
	{
		uint32_t n_in = dnnq_model_num_inputs(m), n_out = dnnq_model_num_outputs(m);
		t_.reserve(n_in + n_out);
		for (uint32_t k = 0; k < n_in + n_out; k++) {
			bool output = k >= n_in;
			dnnq_tensor t{};
			check("allocate", dnnq_tensor_alloc_io(m, output ? DNNQ_OUTPUT : DNNQ_INPUT,
			                                       output ? k - n_in : k, 1, &t));
			t_.push_back(t);
		}
		for (uint32_t k = 0; k < n_in; k++)
			in.push_back(&t_[k]);
		for (uint32_t k = n_in; k < n_in + n_out; k++)
			out.push_back(&t_[k]);
	}
	~tensors()
	{
		for (auto &t : t_)
			dnnq_tensor_free(c_, &t);
	}
	tensors(const tensors &) = delete;
	tensors &operator=(const tensors &) = delete;

	// Input bytes from a seed (any byte is a valid u8 and, below 0x7f
	// in the top byte, a finite f32).
	void fill(unsigned seed)
	{
		for (auto *t : in) {
			auto *p = static_cast<unsigned char *>(t->data);
			for (size_t i = 0; i < t->bytes; i++)
				p[i] = static_cast<unsigned char>(t->dtype == DNNQ_TYPE_F32 && i % 4 == 3
				                                  ? 0x3f : (i * 7 + seed * 13) % 251);
		}
	}

	std::vector<const dnnq_tensor *> in;
	std::vector<dnnq_tensor *> out;

private:
	dnnq_client *c_;
	std::vector<dnnq_tensor> t_;
};

bool same_outputs(const tensors &a, const tensors &b)
{
	for (size_t k = 0; k < a.out.size(); k++)
		if (a.out[k]->bytes != b.out[k]->bytes ||
		    std::memcmp(a.out[k]->data, b.out[k]->data, a.out[k]->bytes) != 0)
			return false;
	return true;
}

int run_async(const char *name, const char *socket, unsigned n)
{
	dnnq_connect_opts o{};
	o.timeout_ms = 5000;
	dnnq_client *raw = nullptr;
	check("connect", dnnq_connect(socket, &o, &raw));
	client_ptr c(raw);
	dnnq_model *rm = nullptr;
	check("open", dnnq_model_open(c.get(), name, &rm));
	model_ptr m(rm);

	std::vector<std::unique_ptr<tensors>> reqs, refs;
	std::vector<dnnq_request> r(n);
	for (unsigned i = 0; i < n; i++) {
		reqs.push_back(std::make_unique<tensors>(m.get(), c.get()));
		refs.push_back(std::make_unique<tensors>(m.get(), c.get()));
		reqs[i]->fill(i);
		refs[i]->fill(i);
	}
	int efd = check("event fd", dnnq_event_fd(c.get()));
	for (unsigned i = 0; i < n; i++)
		check("submit", dnnq_submit(m.get(), reqs[i]->in.data(), reqs[i]->out.data(), &r[i]));

	// Wake on completions (with a timeout: a dead daemon never signals),
	// then poll every request still in flight.
	std::vector<bool> done(n);
	for (unsigned left = n, rounds = 0; left; rounds++) {
		if (rounds > 500)
			throw dnnq_error("wait", DNNQ_E_TIMEDOUT);
		pollfd p{ efd, POLLIN, 0 };
		if (poll(&p, 1, 10) > 0) {
			char buf[64];
			// MSG_DONTWAIT, not read(): the fd's O_NONBLOCK is the
			// daemon's to change too (dnnq.h)
			if (recv(efd, buf, sizeof buf, MSG_DONTWAIT) < 0) {
				// EAGAIN: another wake-up took the bytes
			}
		}
		for (unsigned i = 0; i < n; i++) {
			if (done[i])
				continue;
			int rc = dnnq_poll(&r[i]);
			if (rc == DNNQ_E_AGAIN)
				continue;
			check("request", rc);
			done[i] = true;
			left--;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		check("infer", dnnq_infer(m.get(), refs[i]->in.data(), refs[i]->out.data(), 5000));
		if (!same_outputs(*reqs[i], *refs[i])) {
			std::fprintf(stderr, "cxx: request %u's outputs differ from dnnq_infer's\n", i);
			return 1;
		}
	}
	std::printf("%s: %u async requests match dnnq_infer\n", dnnq_model_name_of(m.get()), n);
	return 0;
}

int link_check()
{
	dnnq_client *c = nullptr;
	dnnq_connect_opts o{};
	o.timeout_ms = 200;
	const char *path = "/nonexistent/dnnq-cxx/dnnqd.sock";
	int rc = dnnq_connect(path, &o, &c);
	const char *why = dnnq_last_error();
	std::printf("%d %s | %s\n", rc, dnnq_strerror(rc), why);
	if (rc != DNNQ_E_IO || c != nullptr || !std::strstr(why, path))
		return 1;
	// The stats types are named with `struct`: the functions dnnq_stats and
	// dnnq_model_stats hide the bare names in C++ (dnnq(3)).
	struct dnnq_stats s{};
	struct dnnq_model_stats ms{};
	dnnq_reload_result rr{};
	if (s.pid || ms.requests || rr.status)
		return 1;
	// Every other entry point must link too (never called: no daemon).
	void (*fns[])() = {
		reinterpret_cast<void (*)()>(&dnnq_close),
		reinterpret_cast<void (*)()>(&dnnq_close_keep_mapping),
		reinterpret_cast<void (*)()>(&dnnq_event_fd),
		reinterpret_cast<void (*)()>(&dnnq_model_open),
		reinterpret_cast<void (*)()>(&dnnq_model_close),
		reinterpret_cast<void (*)()>(&dnnq_model_name),
		reinterpret_cast<void (*)()>(&dnnq_model_name_of),
		reinterpret_cast<void (*)()>(&dnnq_model_num_inputs),
		reinterpret_cast<void (*)()>(&dnnq_model_num_outputs),
		reinterpret_cast<void (*)()>(&dnnq_model_max_batch),
		reinterpret_cast<void (*)()>(&dnnq_model_generation),
		reinterpret_cast<void (*)()>(&dnnq_model_io),
		reinterpret_cast<void (*)()>(&dnnq_tensor_alloc),
		reinterpret_cast<void (*)()>(&dnnq_tensor_alloc_io),
		reinterpret_cast<void (*)()>(&dnnq_tensor_free),
		reinterpret_cast<void (*)()>(&dnnq_infer),
		reinterpret_cast<void (*)()>(&dnnq_submit),
		reinterpret_cast<void (*)()>(&dnnq_poll),
		reinterpret_cast<void (*)()>(&dnnq_wait),
		reinterpret_cast<void (*)()>(&dnnq_stats),
		reinterpret_cast<void (*)()>(&dnnq_model_stats),
		reinterpret_cast<void (*)()>(&dnnq_reload),
	};
	for (auto f : fns)
		if (!f)
			return 1;
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 1)
		return link_check();
	if (argc < 3 || argc > 4) {
		std::fprintf(stderr, "usage: cxx [MODEL SOCKET [N]]\n");
		return 2;
	}
	try {
		return run_async(argv[1], argv[2], argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 8);
	} catch (const dnnq_error &e) {
		std::fprintf(stderr, "cxx: %s\n", e.what());
		return 1;
	}
}
