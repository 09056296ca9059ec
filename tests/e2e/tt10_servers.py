"""tt10_servers.py - real receivers for TT 10/2021 station files, on free loopback ports in a
temporary folder, as foreground processes: vsftpd with FTPS (explicit AUTH TLS required, an
anonymous upload account, a self-signed certificate from openssl) and OpenSSH's sshd with its
internal sftp server (a temporary host key and an authorized client key). Each can be stopped and
started again on the same port and folder, to play a receiver outage. Used by
test_tt10_deliver.py and simulations/bench/tt10_run.py. Standard library only; a missing program
is an error (Debian packages vsftpd, openssh-server, openssl)."""
import os
import shutil
import subprocess
import time

import harness


def _need(prog):
    path = shutil.which(prog) or (prog if os.path.exists(prog) else None)
    if path is None:
        raise RuntimeError("%s is not installed (scripts/lib/deps.sh lists it)" % prog)
    return path


def _wait_port(port, proc, what, timeout=20):
    import socket

    def up():
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    harness.wait_until(up, timeout, what + " listening")


def _descendants(pid):
    """Process ids below 'pid' (children first found through /proc's parent ids)."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                parents.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
            except (OSError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def _stop_group(server):
    """Stops the listener and every session process it forked (vsftpd's sessions call setsid, so
    they are found as descendants): a real outage, not just a closed listening socket."""
    import signal
    if server.proc is not None:
        for kid in _descendants(server.proc.pid):
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(server.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait()
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)  # sessions that ignored SIGTERM
        except ProcessLookupError:
            pass
    server.proc = None
    server.log.close()


class Vsftpd:
    """FTPS receiver; files land in self.incoming. URL: self.url."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "vsftpd")
        os.makedirs(self.dir)
        os.chmod(tmp, 0o755)
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "root")
        self.incoming = os.path.join(self.root, "in")
        os.makedirs(self.incoming)
        os.chmod(self.root, 0o555)
        shutil.chown(self.incoming, "ftp", "ftp")
        os.makedirs(os.path.join(self.dir, "empty"))
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run([_need("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", self.key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.port = harness.free_port()
        self.conf = os.path.join(self.dir, "vsftpd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "listen=YES", "listen_ipv6=NO", "listen_address=127.0.0.1",
                "listen_port=%d" % self.port, "background=NO",
                "anonymous_enable=YES", "local_enable=NO", "write_enable=YES",
                "anon_upload_enable=YES", "anon_other_write_enable=YES",
                "anon_mkdir_write_enable=YES", "no_anon_password=YES", "anon_umask=022",
                "anon_root=" + self.root, "secure_chroot_dir=" + os.path.join(self.dir, "empty"),
                "ssl_enable=YES", "allow_anon_ssl=YES", "force_anon_logins_ssl=YES",
                "force_anon_data_ssl=YES", "require_ssl_reuse=NO",
                "rsa_cert_file=" + self.cert, "rsa_private_key_file=" + self.key,
                "pasv_enable=YES", "pasv_min_port=0", "pasv_max_port=0",
                "seccomp_sandbox=NO", "xferlog_enable=NO", "dual_log_enable=NO",
                "vsftpd_log_file=" + os.path.join(self.dir, "vsftpd.log"),
                "max_clients=200", "max_per_ip=100", "idle_session_timeout=60", ""]))
        self.url = "ftpes://anonymous@127.0.0.1:%d/in/" % self.port
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen([_need("/usr/sbin/vsftpd"), self.conf],
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        _wait_port(self.port, self.proc, "vsftpd")

    def stop(self):
        _stop_group(self)


class Sshd:
    """SFTP receiver (sshd -D, internal-sftp); files land in self.incoming. URL: self.url.
    The client's key is self.client_key (+ .pub); self.known_hosts pins the host key."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "sshd")
        os.makedirs(self.dir)
        self.incoming = os.path.join(self.dir, "in")
        os.makedirs(self.incoming)
        keygen = _need("ssh-keygen")
        self.host_key = os.path.join(self.dir, "host_ecdsa")
        subprocess.run([keygen, "-q", "-t", "ecdsa", "-b", "256", "-m", "PEM", "-N", "",
                        "-f", self.host_key], check=True)
        self.client_key = os.path.join(self.dir, "client_ecdsa")
        subprocess.run([keygen, "-q", "-t", "ecdsa", "-b", "256", "-m", "PEM", "-N", "",
                        "-f", self.client_key], check=True)
        self.client_pub = self.client_key + ".pub"
        shutil.copy(self.client_pub, os.path.join(self.dir, "authorized_keys"))
        self.port = harness.free_port()
        with open(self.host_key + ".pub") as f:
            kt, kb = f.read().split()[:2]
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        with open(self.known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s %s\n" % (self.port, kt, kb))
        self.conf = os.path.join(self.dir, "sshd_config")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey " + self.host_key,
                "PidFile none", "AuthorizedKeysFile " + os.path.join(self.dir, "authorized_keys"),
                "StrictModes no", "PermitRootLogin prohibit-password",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
                "Subsystem sftp internal-sftp", "MaxStartups 100:30:200", "MaxSessions 100",
                "LogLevel ERROR", ""]))
        import getpass
        self.url = "sftp://%s@127.0.0.1:%d%s/" % (getpass.getuser(), self.port, self.incoming)
        os.makedirs("/run/sshd", exist_ok=True)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen([_need("/usr/sbin/sshd"), "-D", "-e", "-f", self.conf],
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        _wait_port(self.port, self.proc, "sshd")

    def stop(self):
        _stop_group(self)


def wait_gone(port, timeout=20):
    """Until nothing accepts on 'port' (the receiver is really down)."""
    import socket

    def down():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return False
        except OSError:
            return True

    harness.wait_until(down, timeout, "port %d closed" % port)
    time.sleep(0)
