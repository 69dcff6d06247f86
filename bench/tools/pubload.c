// pubload: flat-out Mercure publishes from outside Node, for profiling a hub without a Node client
// competing for the same cores. One request in flight per connection (keep-alive), like the
// bench publish scenario. Prints requests/s, updates/s and, given the hub pids, the hub CPU
// (all listed processes) per update.
//   gcc -O2 -o /tmp/pubload bench/tools/pubload.c
//   /tmp/pubload 127.0.0.1 PORT CONNECTIONS SECONDS BATCH TOKEN [PID,PID...]   (BATCH 1 = form, else JSON)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
typedef struct { int fd; char buf[65536]; int len; } conn;
static char req[1<<20]; static int reqlen;
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static long seq=0;
static double pidcpu(const char*pids){ double t=0; char buf[4096]; char*p=strdup(pids); char*sv1; for(char*s=strtok_r(p,",",&sv1);s;s=strtok_r(NULL,",",&sv1)){ char f[64]; sprintf(f,"/proc/%s/stat",s); FILE*fp=fopen(f,"r"); if(!fp)continue; size_t n=fread(buf,1,sizeof buf-1,fp); fclose(fp); buf[n]=0; char*q=strrchr(buf,')')+2; unsigned long ut,st; int k=0; char*sv2; for(char*x=strtok_r(q," ",&sv2);x;x=strtok_r(NULL," ",&sv2)){ k++; if(k==12)ut=strtoul(x,0,10); if(k==13){st=strtoul(x,0,10);break;} } t+=(ut+st)/(double)sysconf(_SC_CLK_TCK);} free(p); return t; }
static void build(int batch,const char*host,int port,const char*tok){
  static char body[1<<20]; int bl=0;
  if(batch<=1){ bl=sprintf(body,"topic=https%%3A%%2F%%2Fbench.herald.local%%2Fpublish&data=%%7B%%22seq%%22%%3A%ld%%2C%%22pad%%22%%3A%%22xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx%%22%%7D",seq);
    reqlen=sprintf(req,"POST /.well-known/mercure HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",host,port,tok,bl,body);
  } else { bl=sprintf(body,"[");
    for(int i=0;i<batch;i++) bl+=sprintf(body+bl,"%s{\"topic\":\"https://bench.herald.local/publish\",\"data\":\"{\\\"seq\\\":%d,\\\"pad\\\":\\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\\"}\"}",i?",":"",i);
    bl+=sprintf(body+bl,"]");
    reqlen=sprintf(req,"POST /.well-known/mercure HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",host,port,tok,bl,body);
  }
}
int main(int argc,char**argv){
  const char*host=argv[1]; int port=atoi(argv[2]); int n=atoi(argv[3]); double secs=atof(argv[4]); int batch=atoi(argv[5]); const char*tok=argv[6]; const char*spids=argc>7?argv[7]:"";
  build(batch,host,port,tok);
  int ep=epoll_create1(0); conn*cs=calloc(n,sizeof(conn));
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_port=htons(port); inet_pton(AF_INET,host,&a.sin_addr);
  for(int i=0;i<n;i++){ int fd=socket(AF_INET,SOCK_STREAM,0); if(connect(fd,(void*)&a,sizeof a)){perror("connect");return 1;}
    int one=1; setsockopt(fd,IPPROTO_TCP,TCP_NODELAY,&one,sizeof one); fcntl(fd,F_SETFL,O_NONBLOCK); cs[i].fd=fd;
    struct epoll_event e={.events=EPOLLIN,.data.ptr=&cs[i]}; epoll_ctl(ep,EPOLL_CTL_ADD,fd,&e); }
  double s0=pidcpu(spids); long ok=0,bad=0; double t0=now(), end=t0+secs; struct timespec c0; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&c0);
  for(int i=0;i<n;i++) if(write(cs[i].fd,req,reqlen)!=reqlen){perror("write");return 1;}
  int open=n; struct epoll_event evs[256];
  while(open>0){ int k=epoll_wait(ep,evs,256,1000); if(k<0&&errno==EINTR)continue;
    for(int j=0;j<k;j++){ conn*c=evs[j].data.ptr; int r=read(c->fd,c->buf+c->len,sizeof c->buf-c->len-1); if(r<=0){fprintf(stderr,"closed\n");return 1;}
      c->len+=r; c->buf[c->len]=0;
      for(;;){ char*h=strstr(c->buf,"\r\n\r\n"); if(!h)break; int hl=h+4-c->buf; char*cl=strcasestr(c->buf,"content-length:"); int bl=cl&&cl<h?atoi(cl+15):0; char*te=strcasestr(c->buf,"transfer-encoding: chunked");
        if(te&&te<h){ char*e=strstr(h+4,"\r\n0\r\n\r\n"); if(!e){ if(strncmp(h+4,"0\r\n\r\n",5)==0) e=h+4-2; else break;} bl=(e+7)-(h+4); }
        if(c->len<hl+bl)break; int st=atoi(c->buf+9); if(st>=200&&st<300) ok++; else {bad++; if(bad<3) fprintf(stderr,"%.*s\n",hl+bl,c->buf);}
        memmove(c->buf,c->buf+hl+bl,c->len-hl-bl); c->len-=hl+bl; c->buf[c->len]=0;
        if(now()<end){ int w=write(c->fd,req,reqlen); if(w!=reqlen){fprintf(stderr,"short write %d\n",w);return 1;} } else { close(c->fd); open--; break; } } } }
  double el=now()-t0; struct timespec c1; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&c1);
  double cpu=(c1.tv_sec-c0.tv_sec)+(c1.tv_nsec-c0.tv_nsec)/1e9;
  double sc=pidcpu(spids)-s0; long ups=ok*(batch>1?batch:1);
  printf("requests/s %.0f updates/s %.0f failed %ld client_cpu%% %.0f server_cpu%% %.0f server_us/update %.2f\n",ok/el,ups/el,bad,cpu/el*100,sc/el*100,ups?sc*1e6/ups:0);
  return 0; }
