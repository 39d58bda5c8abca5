// A C++ program built against the INSTALLED dnnq.h and libdnnq-client.so
// through pkg-config (make check-api): the header must compile as C++ and
// every function it declares must link with C linkage.
#include <dnnq.h>

#include <cstdio>
#include <cstring>

int main()
{
	struct dnnq_client *c = nullptr;
	struct dnnq_connect_opts o = {};
	o.timeout_ms = 200;
	const char *path = "/nonexistent/dnnq-cxx/dnnqd.sock";
	int rc = dnnq_connect(path, &o, &c);
	const char *why = dnnq_last_error();
	std::printf("%d %s | %s\n", rc, dnnq_strerror(rc), why);
	if (rc != DNNQ_E_IO || c != nullptr || !std::strstr(why, path))
		return 1;
	// Every other entry point must link too (never called: no daemon).
	void (*fns[])() = {
		reinterpret_cast<void (*)()>(&dnnq_close),
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
	};
	for (auto f : fns)
		if (!f)
			return 1;
	return 0;
}
