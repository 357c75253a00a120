PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image TEXT NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    monitor_pid INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    restart_count INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '{}',
    stop_requested INTEGER NOT NULL DEFAULT 0
, pod_id TEXT NOT NULL DEFAULT '');
INSERT INTO containers VALUES('36402eceb9c3ee50290386b70b38a0e3b034196a96db770287a5c092954e56ed','inpod','sha256:b7c1e874fc4057c1edda83ec4962af54f4511ae419e68672f3f36b0a8e80c4ca','busybox','2026-12-02T05:03:46.178550782Z','{"entrypoint":[],"cmd":["sleep","1000"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"working_dir":"","user":"","hostname":"shophost","domainname":"","tty":false,"open_stdin":false,"stop_signal":"","stop_timeout":null,"exposed_ports":[],"image_labels":{},"auto_remove":false,"mounts":[],"read_only":false,"memory":0,"memory_swap":0,"nano_cpus":0,"cpu_shares":0,"cpuset_cpus":"","pids_limit":0,"cap_add":[],"cap_drop":[],"privileged":false,"seccomp":null,"no_new_privileges":false,"ulimits":[],"sysctls":{},"devices":[],"init":false,"restart":{"name":"","max_retries":0},"userns":"","uidmap":[],"gidmap":[],"pid_mode":"","ipc_mode":"pod:45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099","uts_mode":"pod:45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099","network_mode":"pod:45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099","log_driver":"","log_opts":{},"tuning":{"oom_score_adj":null,"group_add":[],"shm_size":0,"memory_reservation":0,"oom_kill_disable":false,"cpu_quota":0,"cpu_period":0,"cpu_rt_runtime":0,"cpu_rt_period":0,"blkio_weight":0,"device_read_bps":[],"device_write_bps":[],"device_read_iops":[],"device_write_iops":[]},"extra":{"cgroup":{"manager":"cgroupfs","ns":"host","parent":"/hull/pod-45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099"},"pod":{"id":"45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099","name":"shop"}}}','created',0,0,0,0,NULL,NULL,0,'{"tier":"web"}',0,'45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099');
INSERT INTO containers VALUES('3bf326fd74a80791a1e9a3d432e4333525d15048fd6b45473cbded2a10f8d78b','vols','sha256:b7c1e874fc4057c1edda83ec4962af54f4511ae419e68672f3f36b0a8e80c4ca','busybox','2026-12-02T05:03:46.224739322Z','{"entrypoint":[],"cmd":["true"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"working_dir":"","user":"","hostname":"","domainname":"","tty":false,"open_stdin":false,"stop_signal":"","stop_timeout":null,"exposed_ports":[],"image_labels":{},"auto_remove":false,"mounts":[{"kind":"volume","source":"data","target":"/data","read_only":false,"propagation":null,"options":[]},{"kind":"volume","source":"d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b","target":"/anon","read_only":false,"propagation":null,"options":[]},{"kind":"bind","source":"@DIR@","target":"/host","read_only":true,"propagation":null,"options":[]},{"kind":"tmpfs","source":"","target":"/scratch","read_only":false,"propagation":null,"options":["size=64m"]}],"read_only":true,"memory":0,"memory_swap":0,"nano_cpus":0,"cpu_shares":0,"cpuset_cpus":"","pids_limit":0,"cap_add":[],"cap_drop":[],"privileged":false,"seccomp":null,"no_new_privileges":false,"ulimits":[],"sysctls":{},"devices":[],"init":false,"restart":{"name":"","max_retries":0},"userns":"","uidmap":[],"gidmap":[],"pid_mode":"","ipc_mode":"","uts_mode":"","network_mode":"","log_driver":"","log_opts":{},"tuning":{"oom_score_adj":null,"group_add":[],"shm_size":0,"memory_reservation":0,"oom_kill_disable":false,"cpu_quota":0,"cpu_period":0,"cpu_rt_runtime":0,"cpu_rt_period":0,"blkio_weight":0,"device_read_bps":[],"device_write_bps":[],"device_read_iops":[],"device_write_iops":[]},"extra":{"cgroup":{"manager":"cgroupfs","ns":"host"}}}','created',0,0,0,0,NULL,NULL,0,'{}',0,'');
INSERT INTO containers VALUES('98e6a3da540d0279a838d46d714c73ece1741eb73805fb95f3dd0cc3226f0615','onnet','sha256:b7c1e874fc4057c1edda83ec4962af54f4511ae419e68672f3f36b0a8e80c4ca','busybox','2026-12-02T05:03:46.553691645Z','{"entrypoint":[],"cmd":["sleep","1000"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"working_dir":"","user":"","hostname":"","domainname":"","tty":false,"open_stdin":false,"stop_signal":"","stop_timeout":null,"exposed_ports":[],"image_labels":{},"auto_remove":false,"mounts":[],"read_only":false,"memory":0,"memory_swap":0,"nano_cpus":0,"cpu_shares":0,"cpuset_cpus":"","pids_limit":0,"cap_add":[],"cap_drop":[],"privileged":false,"seccomp":null,"no_new_privileges":false,"ulimits":[],"sysctls":{},"devices":[],"init":false,"restart":{"name":"","max_retries":0},"userns":"","uidmap":[],"gidmap":[],"pid_mode":"","ipc_mode":"","uts_mode":"","network_mode":"appnet","log_driver":"","log_opts":{},"tuning":{"oom_score_adj":null,"group_add":[],"shm_size":0,"memory_reservation":0,"oom_kill_disable":false,"cpu_quota":0,"cpu_period":0,"cpu_rt_runtime":0,"cpu_rt_period":0,"blkio_weight":0,"device_read_bps":[],"device_write_bps":[],"device_read_iops":[],"device_write_iops":[]},"extra":{"cgroup":{"manager":"cgroupfs","ns":"host"},"net":{"add_hosts":[],"aliases":["web"],"dns":[],"dns_options":[],"dns_search":[],"exposed":[],"hostname":"","ip":null,"mac":null,"networks":["appnet"],"publish":[],"publish_all":false}}}','running',24032,24027,0,0,'2026-12-02T05:03:46.832140070Z',NULL,0,'{}',0,'');
INSERT INTO containers VALUES('d29b9716d63e4151374dbed3d5b452293dc8074408447a97a1218922517b09e6','clock','sha256:b7c1e874fc4057c1edda83ec4962af54f4511ae419e68672f3f36b0a8e80c4ca','busybox','2026-12-02T05:03:46.891152729Z','{"entrypoint":[],"cmd":["date"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"working_dir":"","user":"","hostname":"","domainname":"","tty":false,"open_stdin":false,"stop_signal":"","stop_timeout":null,"exposed_ports":[],"image_labels":{},"auto_remove":false,"mounts":[],"read_only":false,"memory":0,"memory_swap":0,"nano_cpus":0,"cpu_shares":0,"cpuset_cpus":"","pids_limit":0,"cap_add":[],"cap_drop":[],"privileged":false,"seccomp":null,"no_new_privileges":false,"ulimits":[],"sysctls":{},"devices":[],"init":false,"restart":{"name":"","max_retries":0},"userns":"","uidmap":[],"gidmap":[],"pid_mode":"","ipc_mode":"","uts_mode":"","network_mode":"","log_driver":"","log_opts":{},"tuning":{"oom_score_adj":null,"group_add":[],"shm_size":0,"memory_reservation":0,"oom_kill_disable":false,"cpu_quota":0,"cpu_period":0,"cpu_rt_runtime":0,"cpu_rt_period":0,"blkio_weight":0,"device_read_bps":[],"device_write_bps":[],"device_read_iops":[],"device_write_iops":[]},"extra":{"Clock":{"Faketime":"@2020-12-24 20:30:00"},"cgroup":{"manager":"cgroupfs","ns":"host"}}}','created',0,0,0,0,NULL,NULL,0,'{}',0,'');
INSERT INTO containers VALUES('5221957e86480ef5599d0b5f8e87eac2807f14c37eb4110b2151218abae91f5a','tuned','sha256:b7c1e874fc4057c1edda83ec4962af54f4511ae419e68672f3f36b0a8e80c4ca','busybox','2026-12-02T05:03:46.964662822Z','{"entrypoint":[],"cmd":["sleep","5"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"working_dir":"/tmp","user":"","hostname":"","domainname":"","tty":false,"open_stdin":false,"stop_signal":"SIGINT","stop_timeout":3,"exposed_ports":[],"image_labels":{},"auto_remove":false,"mounts":[],"read_only":false,"memory":67108864,"memory_swap":0,"nano_cpus":0,"cpu_shares":0,"cpuset_cpus":"","pids_limit":50,"cap_add":["NET_ADMIN"],"cap_drop":["MKNOD"],"privileged":false,"seccomp":null,"no_new_privileges":false,"ulimits":[{"name":"nofile","soft":100,"hard":200}],"sysctls":{"net.ipv4.ip_forward":"1"},"devices":[{"host":"/dev/null","container":"/dev/mynull","permissions":"rw"}],"init":false,"restart":{"name":"on-failure","max_retries":3},"userns":"private","uidmap":["0:100000:65536"],"gidmap":["0:100000:65536"],"pid_mode":"host","ipc_mode":"private","uts_mode":"host","network_mode":"none","log_driver":"","log_opts":{},"tuning":{"oom_score_adj":100,"group_add":[],"shm_size":33554432,"memory_reservation":0,"oom_kill_disable":false,"cpu_quota":0,"cpu_period":0,"cpu_rt_runtime":0,"cpu_rt_period":0,"blkio_weight":0,"device_read_bps":[],"device_write_bps":[],"device_read_iops":[],"device_write_iops":[]},"extra":{"cgroup":{"manager":"cgroupfs","ns":"host"},"net":{"add_hosts":[],"aliases":[],"dns":[],"dns_options":[],"dns_search":[],"exposed":[],"hostname":"","ip":null,"mac":null,"networks":["none"],"publish":[],"publish_all":false}}}','created',0,0,0,0,NULL,NULL,0,'{}',0,'');
INSERT INTO containers VALUES('a76217f879a5878618b01b0cd9c66c29d2ba34feb72149c66b527b69505e7b0d','exited','sha256:b7c1e874fc4057c1edda83ec4962af54f4511ae419e68672f3f36b0a8e80c4ca','busybox','2026-12-02T05:03:47.089229284Z','{"entrypoint":[],"cmd":["sh","-c","exit 3"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"working_dir":"","user":"","hostname":"","domainname":"","tty":false,"open_stdin":false,"stop_signal":"","stop_timeout":null,"exposed_ports":[],"image_labels":{},"auto_remove":false,"mounts":[],"read_only":false,"memory":0,"memory_swap":0,"nano_cpus":0,"cpu_shares":0,"cpuset_cpus":"","pids_limit":0,"cap_add":[],"cap_drop":[],"privileged":false,"seccomp":null,"no_new_privileges":false,"ulimits":[],"sysctls":{},"devices":[],"init":false,"restart":{"name":"","max_retries":0},"userns":"","uidmap":[],"gidmap":[],"pid_mode":"","ipc_mode":"","uts_mode":"","network_mode":"","log_driver":"","log_opts":{},"tuning":{"oom_score_adj":null,"group_add":[],"shm_size":0,"memory_reservation":0,"oom_kill_disable":false,"cpu_quota":0,"cpu_period":0,"cpu_rt_runtime":0,"cpu_rt_period":0,"blkio_weight":0,"device_read_bps":[],"device_write_bps":[],"device_read_iops":[],"device_write_iops":[]},"extra":{"cgroup":{"manager":"cgroupfs","ns":"host"}}}','exited',0,24042,3,0,'2026-12-02T05:03:47.260508558Z','2026-12-02T05:03:47.269120372Z',0,'{}',0,'');
CREATE TABLE pods (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    share TEXT NOT NULL,
    infra_id TEXT NOT NULL DEFAULT '',
    cgroup_parent TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    plan TEXT NOT NULL,
    kube_source TEXT NOT NULL DEFAULT ''
);
INSERT INTO pods VALUES('45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099','shop','shophost','ipc,net,uts','45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099','/hull/pod-45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099','{}','2026-12-02T05:03:45.459312301Z','{"name":"shop","hostname":"shophost","share":{"uts":true,"ipc":true,"net":true,"pid":false},"host_network":false,"network":"","ports":[{"host_ip":"127.0.0.1","host_port":18093,"container_port":80,"protocol":"tcp"}],"memory":0,"nano_cpus":0,"labels":{},"volumes":[],"init_containers":[],"containers":[],"restart_policy":"","uidmap":[],"gidmap":[]}','');
CREATE TABLE networks (
            name TEXT PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            bridge TEXT NOT NULL UNIQUE,
            subnet TEXT NOT NULL,
            gateway TEXT NOT NULL,
            internal INTEGER NOT NULL,
            mtu INTEGER,
            created TEXT NOT NULL,
            labels TEXT NOT NULL
        );
INSERT INTO networks VALUES('bridge','891a687e97d1bd5fb4649af61dd4b1739e84176e7e17257be4c978bcb58a9c9d','hull0-953627','172.18.0.0/24','172.18.0.1',0,NULL,'2026-12-02T05:03:45Z','{}');
INSERT INTO networks VALUES('appnet','ea70cf7c27f34c53cfc04cb9ef32620a33d2abf9fab9b81d0aef15191676b9c8','br-ea70cf7c27f3','10.217.77.0/24','10.217.77.1',0,NULL,'2026-12-02T05:03:46Z','{"env":"test"}');
CREATE TABLE leases (
            network TEXT NOT NULL REFERENCES networks(name),
            ip TEXT NOT NULL,
            container TEXT NOT NULL,
            name TEXT NOT NULL,
            ifname TEXT NOT NULL,
            mac TEXT NOT NULL,
            host_veth TEXT NOT NULL,
            aliases TEXT NOT NULL,
            PRIMARY KEY (network, ip),
            UNIQUE (network, container)
        );
INSERT INTO leases VALUES('bridge','172.18.0.2','45e2c129adc656b0a1635a759ab5ba4e742c2188acf595fd445dfba66fef7099','shop','eth0','02:42:ac:12:00:02','vethbbe332e1','shophost');
INSERT INTO leases VALUES('appnet','10.217.77.2','98e6a3da540d0279a838d46d714c73ece1741eb73805fb95f3dd0cc3226f0615','onnet','eth0','02:42:0a:d9:4d:02','veth44bcb2c0','web');
CREATE TABLE ipam_cursors (
            network TEXT PRIMARY KEY,
            last TEXT NOT NULL
        );
INSERT INTO ipam_cursors VALUES('appnet','10.217.77.2');
INSERT INTO ipam_cursors VALUES('bridge','172.18.0.3');
CREATE TABLE volumes (
            name TEXT PRIMARY KEY,
            driver TEXT NOT NULL,
            mountpoint TEXT NOT NULL,
            created TEXT NOT NULL,
            labels TEXT NOT NULL,
            options TEXT NOT NULL
        );
INSERT INTO volumes VALUES('data','local','@ROOT@/volumes/data/_data','2026-12-02T05:03:46Z','{"keep":"yes"}','{}');
INSERT INTO volumes VALUES('d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b','local','@ROOT@/volumes/d4a0f47c6c754524668a0aac49b1bb78d77ed57c7f1d2b865a896ba832c7544b/_data','2026-12-02T05:03:46Z','{"com.docker.volume.anonymous":""}','{}');
COMMIT;
