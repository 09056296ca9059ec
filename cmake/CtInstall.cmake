# Install rules and the Debian package (CPack DEB), laid out as Debian's mosquitto and Telegraf's
# packages are:
#   bin/collector, bin/fleet-sim                 the programs
#   /etc/citytel/collector.json, registry.jsonl  config and registry examples (conffiles)
#   share/citytel/map/                           the built public map page (dashboards/map/dist)
#   /var/lib/citytel/                            spool, checkpoint, quarantine (made by postinst)
#   /lib/systemd/system/citytel-*.service        the units (packaging/)
#   share/doc/citytel/                           README, docs, Prometheus alert rules, examples
# /etc, /var and /lib/systemd are absolute (CT_SYSCONFDIR, CT_STATEDIR, CT_UNITDIR): stage with
# DESTDIR (`DESTDIR=/tmp/x cmake --install build`); the package uses prefix /usr.
# The package: `cmake --build build --target package` -> build/citytel_<version>_<arch>.deb.
# tests/e2e/test_deb.py installs it into a temporary root and runs the installed collector.
# /usr by default, as a distribution builds: the config and state folders are /etc and /var
# anyway, and `collector --help` and the example config name /usr/share/citytel/map.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
    set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)
# `cmake --install` and `package` need only the installed programs, not every test target.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CT_SYSCONFDIR "/etc/citytel" CACHE PATH "Config folder of the installed collector")
set(CT_STATEDIR "/var/lib/citytel" CACHE PATH "State folder (spool, checkpoint, quarantine)")
set(CT_UNITDIR "/lib/systemd/system" CACHE PATH "systemd unit folder")
set(CT_MAP_DIST "${CMAKE_SOURCE_DIR}/dashboards/map/dist" CACHE PATH
    "The built map page to install (cd dashboards/map && npm ci && npm run build)")

# `collector --help` names the installed files.
target_compile_definitions(collector PRIVATE CT_SYSCONFDIR="${CT_SYSCONFDIR}"
    CT_STATEDIR="${CT_STATEDIR}"
    CT_MAPDIR="${CMAKE_INSTALL_FULL_DATADIR}/citytel/map")
install(TARGETS collector fleet-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/config/collector.example.json DESTINATION ${CT_SYSCONFDIR}
    RENAME collector.json PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${CMAKE_SOURCE_DIR}/config/registry.jsonl DESTINATION ${CT_SYSCONFDIR}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(DIRECTORY DESTINATION ${CT_STATEDIR})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/citytel-collector.service
    ${CMAKE_SOURCE_DIR}/packaging/citytel-fleet-sim.service DESTINATION ${CT_UNITDIR})
# The map page is built by npm, outside CMake: installed when built, with a warning otherwise.
install(DIRECTORY ${CT_MAP_DIST}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/citytel/map OPTIONAL)
install(CODE "if(NOT EXISTS \"${CT_MAP_DIST}/index.html\")
    message(WARNING \"${CT_MAP_DIST} is not built: no map page installed\")
endif()")
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/prometheus ${CMAKE_SOURCE_DIR}/config/broker
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples OPTIONAL)
install(FILES ${CMAKE_SOURCE_DIR}/config/mosquitto.conf.example
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "citytel")
set(CPACK_PACKAGE_VENDOR "citytel")
set(CPACK_PACKAGE_CONTACT "citytel maintainers <citytel@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "smart-city telemetry collector (MQTT to InfluxDB, public map)")
set(CPACK_PACKAGE_DESCRIPTION "The citytel collector receives signed sensor readings over MQTT,
journals them, stores them in InfluxDB, serves the public map and layers and Prometheus metrics.
Includes fleet-sim, a simulator of sensor nodes.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Runtime Depends from the linked shared libraries (dpkg-shlibdeps), plus what postinst runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mosquitto, influxdb | victoria-metrics")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/postinst ${CMAKE_SOURCE_DIR}/packaging/prerm
    ${CMAKE_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
