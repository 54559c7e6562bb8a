"""Fill deploy/nginx.conf, or run nginx in the foreground with all its files under one directory.

    python deploy/nginx.py render --listen 80 --upstream 127.0.0.1:3000 > /etc/nginx/conf.d/gateway.conf
    python deploy/nginx.py run --listen 8080 --upstream 127.0.0.1:3000 --prefix var/nginx
"""
import argparse
import os
import pwd
import string
import sys

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx.conf")

# The main context for a self-contained nginx (tests, `make nginx`): pid, logs and temp files are
# relative to the -p prefix, so it needs no root and leaves nothing outside that directory.
MAIN = """\
user {user};
worker_processes auto;
# worker_connections needs as many descriptors; raised where the hard limit allows it.
worker_rlimit_nofile 10240;
daemon off;
pid nginx.pid;
error_log error.log info;

events {
    worker_connections 4096;
}

http {
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include gateway.conf;
}
"""


def render(listen, upstreams, access_log="/var/log/nginx/inference-gateway.access.log"):
    """deploy/nginx.conf with the listen address, the gunicorn instances and the access log filled in."""
    with open(TEMPLATE) as f:
        template = string.Template(f.read())
    servers = "\n    ".join(f"server {address};" for address in upstreams)
    # safe_substitute: nginx's own $variables are left alone.
    return template.safe_substitute(GATEWAY_LISTEN=listen, GATEWAY_UPSTREAMS=servers,
                                    GATEWAY_ACCESS_LOG=access_log)


def prepare(prefix, listen, upstreams):
    """Write nginx.conf and gateway.conf under `prefix`; return the nginx command line."""
    prefix = os.path.abspath(prefix)
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    with open(os.path.join(prefix, "gateway.conf"), "w") as f:
        f.write(render(listen, upstreams, access_log="access.log"))
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        # Workers run as the user who started nginx (as root it would switch them to `nobody`,
        # who cannot write to a private prefix); nginx ignores the line for anyone else.
        f.write(MAIN.replace("{user}", pwd.getpwuid(os.geteuid()).pw_name))
    # -e: the compiled-in error log (/var/log/nginx) may not be writable before the config is read.
    return ["nginx", "-p", prefix + "/", "-c", "nginx.conf", "-e", "error.log"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["render", "run"])
    parser.add_argument("--listen", default="127.0.0.1:8080", help="nginx's listen address")
    parser.add_argument("--upstream", action="append", help="a gunicorn host:port (repeatable)")
    parser.add_argument("--prefix", default="var/nginx", help="run: directory for conf, logs, pid")
    args = parser.parse_args(argv)
    upstreams = args.upstream or ["127.0.0.1:3000"]
    if args.action == "render":
        sys.stdout.write(render(args.listen, upstreams))
        return 0
    command = prepare(args.prefix, args.listen, upstreams)
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
