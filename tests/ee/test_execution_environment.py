# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ee/execution-environment.yml gives a build context with the collection and PyMySQL.

The base image cannot be pulled here, so the image is never built: the test
runs `ansible-builder create` (as the README says, after `ansible-galaxy
collection build --output-path ee/`, here into a temporary copy), checks the
context, and replays on this machine what the Containerfile's galaxy and
builder stages do with it: install the collection from the requirements.yml,
then ansible-builder's own introspect.py, which must list PyMySQL from both
the EE file and the collection's meta/execution-environment.yml.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run(*cmd, **kwargs):
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(cmd), proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    work = tmp_path_factory.mktemp("ee")
    ee_dir = work / "ee"
    ee_dir.mkdir()
    shutil.copy(os.path.join(ROOT, "ee", "execution-environment.yml"), str(ee_dir))
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(ee_dir), ROOT)
    run(os.path.join(BIN, "ansible-builder"), "create", "-f", str(ee_dir / "execution-environment.yml"),
        "-c", str(work / "context"), "--output-filename", "Containerfile")
    return work / "context"


def galaxy_version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)["version"]


def test_context_has_the_collection_tarball(context):
    tarballs = os.listdir(str(context / "_build" / "collections"))
    assert tarballs == ["telephony-vicidial-%s.tar.gz" % galaxy_version()]
    with tarfile.open(str(context / "_build" / "collections" / tarballs[0])) as tar:
        names = set(tar.getnames())
    for needed in ("MANIFEST.json", "meta/runtime.yml", "meta/execution-environment.yml", "meta/ee-requirements.txt",
                   "plugins/modules/vicidial_phones.py", "plugins/modules/vicidial_phone_config.py",
                   "plugins/callback/phones_plan.py", "roles/vicidial_phones/tasks/main.yml",
                   "playbooks/phones.yml"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "ee/", "examples/", ".venv/", "lab/")) for n in names)


def test_context_python_and_ansible_requirements(context):
    with open(str(context / "_build" / "requirements.txt")) as handle:
        assert handle.read().split() == ["PyMySQL==1.2.4"]
    with open(str(context / "Containerfile")) as handle:
        containerfile = handle.read()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    # The galaxy stage renames the one tarball, then installs the requirements.yml that names it.
    galaxy = containerfile[containerfile.index("AS galaxy"):containerfile.index("AS builder")]
    assert galaxy.index("COPY _build/collections/ /build/collections/") < galaxy.index("mv \"$1\" /build/collections")
    assert galaxy.index("mv \"$1\"") < galaxy.index("ansible-galaxy collection install")
    with open(str(context / "_build" / "requirements.yml")) as handle:
        assert yaml.safe_load(handle) == {
            "collections": [{"name": "/build/collections/telephony-vicidial.tar.gz", "type": "file"}]}


def test_ee_pins_the_ansible_core_the_suite_runs(context):
    with open(os.path.join(ROOT, "requirements-dev.txt")) as handle:
        pinned = re.search(r"^ansible-core==(\S+)", handle.read(), re.M).group(1)
    with open(os.path.join(ROOT, "ee", "execution-environment.yml")) as handle:
        ee = yaml.safe_load(handle)
    assert ee["version"] == 3
    assert ee["dependencies"]["ansible_core"]["package_pip"] == "ansible-core==" + pinned


def test_galaxy_and_builder_stages_replayed(context, tmp_path):
    """What the image build does with the context, minus the container: install, then introspect."""
    build = tmp_path / "build"
    shutil.copytree(str(context / "_build"), str(build))
    (tarball,) = os.listdir(str(build / "collections"))
    os.rename(str(build / "collections" / tarball), str(build / "collections" / "telephony-vicidial.tar.gz"))
    with open(str(build / "requirements.yml")) as handle:
        requirements = handle.read().replace("/build/", str(build) + "/")
    (build / "requirements.local.yml").write_text(requirements)
    collections = tmp_path / "usr-share-ansible-collections"
    env = dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1", ANSIBLE_COLLECTIONS_PATH=str(collections))
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-r",
        str(build / "requirements.local.yml"), "--collections-path", str(collections), env=env, cwd=str(build))
    installed = collections / "ansible_collections" / "telephony" / "vicidial"
    assert (installed / "plugins" / "modules" / "vicidial_phones.py").is_file()
    out = tmp_path / "out"
    run(sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(collections),
        "--user-pip", str(build / "requirements.txt"), "--user-bindep", str(build / "bindep.txt"),
        "--write-pip", str(out / "requirements.txt"), "--write-bindep", str(out / "bindep.txt"))
    with open(str(out / "requirements.txt")) as handle:
        pip = handle.read()
    assert re.search(r"^PyMySQL==1\.2\.4\s+# from collection user$", pip, re.M | re.I), pip
    assert re.search(r"^PyMySQL>=1\.0\.2\s+# from collection telephony\.vicidial$", pip, re.M | re.I), pip
    with open(str(out / "bindep.txt")) as handle:
        assert "openssh-clients [platform:rpm]" in handle.read()
